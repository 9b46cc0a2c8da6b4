"""Two-step login, recovery codes, application passwords and login throttling."""

SQL = """
ALTER TABLE users ADD COLUMN otp_secret TEXT;
ALTER TABLE users ADD COLUMN otp_enabled_at TEXT;
-- The last TOTP time step accepted: a code is accepted only for a later step.
ALTER TABLE users ADD COLUMN otp_last_step INTEGER;
ALTER TABLE users ADD COLUMN locked_until TEXT;

CREATE TABLE recovery_codes (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    code_hash   TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    used_at     TEXT
);
CREATE INDEX recovery_codes_user ON recovery_codes(user_id);

CREATE TABLE app_passwords (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id),
    name            TEXT NOT NULL CHECK (length(trim(name)) > 0),
    secret_hash     TEXT NOT NULL UNIQUE,
    created_at      TEXT NOT NULL,
    last_used_at    TEXT,
    revoked_at      TEXT
);
CREATE UNIQUE INDEX app_passwords_live_name ON app_passwords(user_id, name) WHERE revoked_at IS NULL;

-- Failed attempts (password, code, recovery code, app password) per account.
CREATE TABLE auth_failures (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    at          TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('password', 'code', 'recovery', 'app_password'))
);
CREATE INDEX auth_failures_user_at ON auth_failures(user_id, at);

"""
