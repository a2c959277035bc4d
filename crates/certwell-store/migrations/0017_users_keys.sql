-- User lifecycle (active, inactive, deleted), API-only (service) users,
-- and API keys with a role restriction, an optional expiry and a
-- last-used time. Key use is kept in its own table so that recording it
-- does not count as a change of the keys their caches follow.
ALTER TABLE users ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
ALTER TABLE users ADD COLUMN is_api_only INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN restricted_role INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN expires_at TEXT;
CREATE TABLE api_key_usage (
    key_id INTEGER PRIMARY KEY REFERENCES api_keys(id),
    last_used_at TEXT NOT NULL
);
