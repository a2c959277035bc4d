-- A CA certificate's serial is recorded before the certificate is signed,
-- like every other serial; a root signs its own certificate, so its
-- serial is recorded under its id before the CA row exists. The issuer of
-- a recorded serial is therefore no longer a reference to `cas`.
CREATE TABLE serials_new (
    ca_id TEXT NOT NULL,
    serial TEXT NOT NULL,
    certificate_id INTEGER,
    created_at TEXT NOT NULL,
    PRIMARY KEY (ca_id, serial)
);
INSERT INTO serials_new (ca_id, serial, certificate_id, created_at)
    SELECT ca_id, serial, certificate_id, created_at FROM serials;
DROP TABLE serials;
ALTER TABLE serials_new RENAME TO serials;
