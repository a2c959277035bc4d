-- The organization validation desk: every operator decision on an
-- organization validation, by which operator key, with its note and the
-- contacts the operator verified.
CREATE TABLE validation_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    operator_key_id INTEGER,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    organization_id INTEGER NOT NULL REFERENCES organizations(id),
    type TEXT NOT NULL,
    -- approved | rejected
    decision TEXT NOT NULL,
    note TEXT NOT NULL,
    verified_contacts TEXT
);
CREATE INDEX validation_audit_org ON validation_audit(organization_id, id);
CREATE INDEX org_validations_status ON org_validations(status);
