"""The mail outbox: queued messages, delivery attempts, final states; and the
invitations (one-time activation codes) of users who have no password yet."""

SQL = """
CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (length(trim(kind)) > 0),
    to_address      TEXT NOT NULL CHECK (to_address = lower(to_address) AND to_address LIKE '%_@_%'),
    subject         TEXT NOT NULL,
    -- text/plain, UTF-8. A secret the message carries (an activation code) is not
    -- here but in secret_values, filled in only when the message is delivered.
    body            TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'queued'
                        CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TEXT,
    last_error      TEXT,
    -- A caller's natural key ("invite:12:1"): queueing it again does nothing.
    dedupe_key      TEXT UNIQUE,
    message_id      TEXT,
    client_id       INTEGER REFERENCES clients(id),
    -- JSON object of the secret context values; NULL once sent or cancelled.
    secret_values   TEXT,
    claimed_at      TEXT,
    created_by      INTEGER REFERENCES users(id),
    created_at      TEXT NOT NULL,
    sent_at         TEXT,
    CHECK (status <> 'queued' OR next_attempt_at IS NOT NULL),
    CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);
CREATE INDEX mail_outbox_due ON mail_outbox(status, next_attempt_at, id);
CREATE INDEX mail_outbox_client ON mail_outbox(client_id);

-- One-time activation codes: 100 random bits, stored as a salted SHA-256.
-- At most one live invitation per user; a new one revokes the old.
CREATE TABLE invitations (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    code_hash   TEXT NOT NULL UNIQUE,
    mail_id     INTEGER REFERENCES mail_outbox(id),
    created_by  INTEGER REFERENCES users(id),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    revoked_at  TEXT,
    UNIQUE (user_id, seq)
);
CREATE UNIQUE INDEX invitations_live ON invitations(user_id)
    WHERE used_at IS NULL AND revoked_at IS NULL;
"""
