-- Real domain control validation: the poller's schedule per domain and
-- the one-time links sent by email (domain DCV and mailbox validation).
ALTER TABLE domains ADD COLUMN dcv_next_check TEXT;
ALTER TABLE domains ADD COLUMN dcv_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE domains ADD COLUMN dcv_last_error TEXT;
CREATE INDEX domains_dcv_due ON domains(dcv_next_check) WHERE validated_at IS NULL;
CREATE TABLE validation_links (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    -- 'domain' (email DCV) or 'mailbox' (an address of an S/MIME order)
    kind TEXT NOT NULL,
    domain_id INTEGER REFERENCES domains(id),
    order_id INTEGER REFERENCES orders(id),
    email TEXT NOT NULL,
    -- SHA-256 of the link's secret; the secret itself is only in the email
    token_hash TEXT NOT NULL UNIQUE,
    expires_at TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX validation_links_domain ON validation_links(domain_id);
CREATE INDEX validation_links_order ON validation_links(order_id);
