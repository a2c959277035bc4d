-- Background work shared by several instances: a named lease is held by
-- one holder until it expires or is released, and another takes it over
-- once it has expired (its holder died). Expiry is by the database's clock.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
-- The newest CRL of each CA, made once for every instance: its number,
-- when it was made, and how many revocations of its CA it covers (the
-- count below, read before its entries).
CREATE TABLE crls (
    ca_id TEXT PRIMARY KEY REFERENCES cas(id),
    number BIGINT NOT NULL,
    this_update TIMESTAMPTZ NOT NULL,
    revocations BIGINT NOT NULL,
    der BYTEA NOT NULL
);
-- Revocations per CA, counted in the revoking transaction (a stored CRL
-- that covers fewer is out of date), and announced on the change feed so
-- that every instance's OCSP responder follows at once.
ALTER TABLE crl_numbers ADD COLUMN revocations BIGINT NOT NULL DEFAULT 0;
CREATE FUNCTION certwell_count_revocation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO crl_numbers (ca_id, last_number, revocations) VALUES (NEW.ca_id, 0, 1)
    ON CONFLICT (ca_id) DO UPDATE SET revocations = crl_numbers.revocations + 1;
    PERFORM pg_notify('certwell_changes', 'revocations');
    RETURN NULL;
END
$$;
CREATE TRIGGER certificates_revoked AFTER UPDATE OF status ON certificates
FOR EACH ROW WHEN (NEW.status = 'revoked' AND OLD.status <> 'revoked' AND NEW.ca_id IS NOT NULL)
EXECUTE FUNCTION certwell_count_revocation();
CREATE INDEX certificates_revoked_at ON certificates(revoked_at) WHERE status = 'revoked';
