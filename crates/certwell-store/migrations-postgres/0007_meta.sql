-- Facts about the deployment itself, recorded once (the mode it was
-- initialized in: sandbox or production).
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
