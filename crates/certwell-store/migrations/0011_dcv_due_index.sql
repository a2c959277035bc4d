-- The poller also re-checks domains whose validation expired, so its
-- index may not be limited to never-validated domains.
DROP INDEX IF EXISTS domains_dcv_due;
CREATE INDEX domains_dcv_due ON domains(dcv_next_check) WHERE is_active = 1 AND dcv_token IS NOT NULL;
