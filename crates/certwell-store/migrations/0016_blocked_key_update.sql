-- The blocklist backstop covers updates too: a key set later (a CSR
-- attached to an order that had none) and a certificate recorded as
-- issued after its key was blocked. Revoking such a certificate is not
-- refused.
CREATE TRIGGER certificates_refuse_blocked_keys_on_update
BEFORE UPDATE OF spki_sha256, status ON certificates
WHEN NEW.spki_sha256 IS NOT NULL
    AND ((NEW.status = 'issued' AND OLD.status <> 'issued')
        OR NEW.spki_sha256 IS NOT OLD.spki_sha256)
    AND EXISTS (SELECT 1 FROM blocked_keys WHERE spki_sha256 = NEW.spki_sha256)
BEGIN
    SELECT RAISE(ABORT, 'certwell:blocked_key');
END;
