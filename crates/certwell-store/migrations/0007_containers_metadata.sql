-- Child containers carry a description; custom order fields (the
-- vendor's "account metadata") are defined per account.
ALTER TABLE containers ADD COLUMN description TEXT NOT NULL DEFAULT '';
CREATE TABLE account_metadata (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    label TEXT NOT NULL,
    is_required INTEGER NOT NULL,
    is_active INTEGER NOT NULL,
    -- text | int | email_address | email_list | '' (anything)
    data_type TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX account_metadata_account ON account_metadata(account_id, id);
-- Verified users named when an organization is submitted for EV or
-- code-signing validation (JSON array).
ALTER TABLE org_validations ADD COLUMN verified_users TEXT;
