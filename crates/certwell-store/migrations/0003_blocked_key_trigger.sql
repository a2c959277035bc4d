-- A key revoked for key compromise is never certified again, in any
-- account: the database itself refuses a certificate row for it.
CREATE TRIGGER certificates_refuse_blocked_keys
BEFORE INSERT ON certificates
WHEN NEW.spki_sha256 IS NOT NULL
    AND EXISTS (SELECT 1 FROM blocked_keys WHERE spki_sha256 = NEW.spki_sha256)
BEGIN
    SELECT RAISE(ABORT, 'certwell:blocked_key');
END;
