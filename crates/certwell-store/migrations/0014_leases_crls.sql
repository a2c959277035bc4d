-- Background work shared by several instances (or several tasks of one):
-- a named lease is held by one holder until it expires or is released,
-- and another takes it over once it has expired (its holder died).
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
-- The newest CRL of each CA, made once for every instance: its number,
-- when it was made, and how many revocations of its CA it covers (the
-- count below, read before its entries).
CREATE TABLE crls (
    ca_id TEXT PRIMARY KEY REFERENCES cas(id),
    number INTEGER NOT NULL,
    this_update TEXT NOT NULL,
    revocations INTEGER NOT NULL,
    der BLOB NOT NULL
);
-- Revocations per CA, counted in the revoking transaction: a stored CRL
-- that covers fewer is out of date.
ALTER TABLE crl_numbers ADD COLUMN revocations INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER certificates_revoked AFTER UPDATE OF status ON certificates
WHEN NEW.status = 'revoked' AND OLD.status <> 'revoked' AND NEW.ca_id IS NOT NULL
BEGIN
    INSERT INTO crl_numbers (ca_id, last_number, revocations) VALUES (NEW.ca_id, 0, 1)
    ON CONFLICT (ca_id) DO UPDATE SET revocations = revocations + 1;
END;
-- Recent revocations, followed by every instance's OCSP responder.
CREATE INDEX certificates_revoked_at ON certificates(revoked_at) WHERE status = 'revoked';
