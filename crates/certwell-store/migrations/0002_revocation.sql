-- Revocation: certificate revocation state, request payloads, key blocklist.
ALTER TABLE certificates ADD COLUMN revoked_at TEXT;
ALTER TABLE certificates ADD COLUMN revocation_reason TEXT;
ALTER TABLE requests ADD COLUMN data TEXT;
CREATE TABLE blocked_keys (
    spki_sha256 TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX certificates_revoked ON certificates(ca_id, status);
