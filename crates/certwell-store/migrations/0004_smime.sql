-- S/MIME and client certificates.
-- Mailbox-validated orders have no organization: orders.organization_id
-- becomes nullable (SQLite needs a table rebuild for that; the runner turns
-- foreign-key enforcement off around this migration and checks every
-- reference before committing).
CREATE TABLE orders_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    container_id INTEGER NOT NULL REFERENCES containers(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    product_name_id TEXT NOT NULL,
    status TEXT NOT NULL,
    organization_id INTEGER REFERENCES organizations(id),
    common_name TEXT NOT NULL,
    certificate_id INTEGER,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
INSERT INTO orders_new (id, account_id, container_id, user_id, product_name_id, status, organization_id,
    common_name, certificate_id, data, created_at, updated_at)
    SELECT id, account_id, container_id, user_id, product_name_id, status, organization_id,
    common_name, certificate_id, data, created_at, updated_at FROM orders;
CREATE TEMP TABLE orders_seq AS SELECT seq FROM sqlite_sequence WHERE name = 'orders';
DROP TABLE orders;
ALTER TABLE orders_new RENAME TO orders;
-- Never hand out an order id twice, even one whose row is gone.
UPDATE sqlite_sequence SET seq = MAX(seq, COALESCE((SELECT MAX(seq) FROM temp.orders_seq), 0))
    WHERE name = 'orders';
DROP TABLE temp.orders_seq;
CREATE INDEX orders_account ON orders(account_id, id);
CREATE INDEX orders_status ON orders(status);

-- Per-address validation state of mailbox-validated orders.
CREATE TABLE order_emails (
    order_id INTEGER NOT NULL REFERENCES orders(id),
    email TEXT NOT NULL,
    status TEXT NOT NULL,
    date_emailed TEXT,
    validated_at TEXT,
    PRIMARY KEY (order_id, email)
);
