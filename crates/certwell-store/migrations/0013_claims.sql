-- A claim (a certificate in 'issuing') remembers the serial it was made
-- with and when: only the claim's own signature may be recorded (another
-- instance may have taken over a claim it judged stale, with a new
-- serial), and only stale claims are reset. Every reservation of a serial
-- for a certificate being issued (at claim time, or when an order or a
-- reissue is created issuable) stamps its claim here.
ALTER TABLE certificates ADD COLUMN claim_serial TEXT;
ALTER TABLE certificates ADD COLUMN claimed_at TEXT;
CREATE TRIGGER serials_claim AFTER INSERT ON serials
WHEN NEW.certificate_id IS NOT NULL
BEGIN
    UPDATE certificates SET claim_serial = NEW.serial, claimed_at = NEW.created_at
    WHERE id = NEW.certificate_id AND status = 'issuing';
END;
