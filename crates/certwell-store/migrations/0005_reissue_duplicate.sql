-- Reissues and duplicates: more than one certificate per order.
-- kind: primary (the order's own), reissue (replaces the order's certificate
-- when issued), duplicate (an extra certificate for the same names).
-- status adds needs_approval (a reissue/duplicate request not approved yet),
-- rejected and canceled.
ALTER TABLE certificates ADD COLUMN kind TEXT NOT NULL DEFAULT 'primary';
ALTER TABLE certificates ADD COLUMN request_id INTEGER REFERENCES requests(id);
ALTER TABLE certificates ADD COLUMN user_id INTEGER REFERENCES users(id);
-- What the reissue/duplicate asked for (names, platform, CA), as JSON.
ALTER TABLE certificates ADD COLUMN data TEXT;
CREATE INDEX certificates_status_kind ON certificates(status, kind);
CREATE INDEX certificates_request ON certificates(request_id);
