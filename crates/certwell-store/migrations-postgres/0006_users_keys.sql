-- User lifecycle (active, inactive, deleted), API-only (service) users,
-- and API keys with a role restriction, an optional expiry and a
-- last-used time (its own table: recording use is not a change of keys).
ALTER TABLE users ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
ALTER TABLE users ADD COLUMN is_api_only BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE api_keys ADD COLUMN restricted_role BIGINT NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN expires_at TIMESTAMPTZ;
CREATE TABLE api_key_usage (
    key_id BIGINT PRIMARY KEY REFERENCES api_keys(id),
    last_used_at TIMESTAMPTZ NOT NULL
);
