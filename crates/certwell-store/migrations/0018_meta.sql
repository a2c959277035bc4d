-- Facts about the data directory itself, recorded once (the mode it was
-- initialized in: a sandbox validates everything at creation and must
-- never serve production data, nor the other way round).
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
