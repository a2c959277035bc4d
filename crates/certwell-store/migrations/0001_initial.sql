-- certwell schema v1. Timestamps are UTC text 'YYYY-MM-DDTHH:MM:SS+00:00'.
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    root_container_id INTEGER,
    settings TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE containers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    parent_id INTEGER,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    container_id INTEGER NOT NULL REFERENCES containers(id),
    role TEXT NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT NOT NULL,
    job_title TEXT NOT NULL DEFAULT '',
    telephone TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key_hash TEXT NOT NULL UNIQUE,
    account_id INTEGER REFERENCES accounts(id),
    user_id INTEGER REFERENCES users(id),
    role TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    revoked INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE cas (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    parent_id TEXT REFERENCES cas(id),
    purpose TEXT,
    key_algorithm TEXT NOT NULL,
    key_file TEXT NOT NULL,
    cert_der BLOB NOT NULL,
    is_default INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE crl_numbers (
    ca_id TEXT PRIMARY KEY REFERENCES cas(id),
    last_number INTEGER NOT NULL
);
CREATE TABLE organizations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    container_id INTEGER NOT NULL REFERENCES containers(id),
    name TEXT NOT NULL,
    assumed_name TEXT,
    is_active INTEGER NOT NULL DEFAULT 1,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX organizations_dup ON organizations(account_id, name);
CREATE TABLE org_validations (
    organization_id INTEGER NOT NULL REFERENCES organizations(id),
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    date_created TEXT NOT NULL,
    validated_until TEXT,
    PRIMARY KEY (organization_id, type)
);
CREATE TABLE domains (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    container_id INTEGER NOT NULL REFERENCES containers(id),
    organization_id INTEGER NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    is_active INTEGER NOT NULL DEFAULT 1,
    dcv_method TEXT NOT NULL,
    dcv_token TEXT,
    dcv_token_expires TEXT,
    validation_types TEXT NOT NULL,
    validated_at TEXT,
    validated_until TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (account_id, organization_id, name)
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    container_id INTEGER NOT NULL REFERENCES containers(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    product_name_id TEXT NOT NULL,
    status TEXT NOT NULL,
    organization_id INTEGER NOT NULL REFERENCES organizations(id),
    common_name TEXT NOT NULL,
    certificate_id INTEGER,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX orders_account ON orders(account_id, id);
CREATE INDEX orders_status ON orders(status);
CREATE TABLE order_names (
    order_id INTEGER NOT NULL REFERENCES orders(id),
    name TEXT NOT NULL
);
CREATE INDEX order_names_name ON order_names(name);
CREATE INDEX order_names_order ON order_names(order_id);
CREATE TABLE requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    order_id INTEGER NOT NULL REFERENCES orders(id),
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    requester_id INTEGER NOT NULL REFERENCES users(id),
    comments TEXT,
    processor_id INTEGER,
    processor_comment TEXT,
    date TEXT NOT NULL,
    date_processed TEXT
);
CREATE INDEX requests_account ON requests(account_id, id);
CREATE INDEX requests_order ON requests(order_id);
CREATE TABLE certificates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    order_id INTEGER NOT NULL REFERENCES orders(id),
    ca_id TEXT REFERENCES cas(id),
    serial TEXT,
    status TEXT NOT NULL,
    thumbprint TEXT,
    der BLOB,
    csr TEXT NOT NULL,
    spki_sha256 TEXT,
    key_size INTEGER,
    common_name TEXT NOT NULL,
    dns_names TEXT NOT NULL,
    signature_hash TEXT NOT NULL,
    valid_from TEXT,
    valid_till TEXT,
    date_issued TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (ca_id, serial)
);
CREATE INDEX certificates_order ON certificates(order_id);
CREATE INDEX certificates_thumbprint ON certificates(thumbprint);
CREATE INDEX certificates_serial ON certificates(serial);
-- Every serial ever allocated, recorded durably before anything is signed
-- with it; never reused, even when signing fails.
CREATE TABLE serials (
    ca_id TEXT NOT NULL REFERENCES cas(id),
    serial TEXT NOT NULL,
    certificate_id INTEGER,
    created_at TEXT NOT NULL,
    PRIMARY KEY (ca_id, serial)
);
