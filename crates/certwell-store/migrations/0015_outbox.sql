-- Validation email waiting to be sent, sent, or given up: recorded when
-- the change that asks for it is committed, sent by the mailer of any one
-- instance (a claim holds it for a while; another instance takes it over
-- once the hold has passed), retried with a growing delay while the SMTP
-- relay refuses it. next_attempt_at is NULL once it was sent or given up.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    -- DCV email of a domain (to each of its addresses)…
    domain_id INTEGER REFERENCES domains(id),
    -- …or the validation email of one mailbox of an order.
    order_id INTEGER REFERENCES orders(id),
    email TEXT,
    created_at TEXT NOT NULL,
    next_attempt_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    sent_at TEXT
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE next_attempt_at IS NOT NULL;
