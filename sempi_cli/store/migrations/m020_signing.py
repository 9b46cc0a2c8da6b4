"""Documents sent for signature (SPEC §12, services/signing/): a simple electronic
signature by one-time code, never a qualified or digital one.

Templates (Markdown or plain text with {{placeholders}}); requests, each a PDF
rendered from a template for one client, stored in the client's folders and
known by its SHA-256; the signers of a request, each signing or declining once;
the task templates that send a document when a task reaches a status; the
certificates of the firm's seals;
the one-time codes sent by e-mail (hashed, single use, ten minutes); and the
evidence, an append-only record (triggers refuse UPDATE and DELETE; each row
carries the SHA-256 of the row before it and of its own content, services/ledger.py)
of everything that happened to a request.
"""

SQL = """
CREATE TABLE sign_templates (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    body        TEXT NOT NULL,
    format      TEXT NOT NULL CHECK (format IN ('markdown', 'text')),
    created_at  TEXT NOT NULL,
    created_by  INTEGER NOT NULL REFERENCES users(id)
);

-- A task template's rule: when one of its tasks reaches the status, the sign
-- template goes out for signature to the task's client (signing/on_status.py).
CREATE TABLE sign_on_status (
    task_template_id INTEGER PRIMARY KEY REFERENCES task_templates(id),
    status           TEXT NOT NULL CHECK (status IN ('in_progress', 'awaiting_approval',
                         'completed', 'deferred', 'pending')),
    sign_template_id INTEGER NOT NULL REFERENCES sign_templates(id)
);

CREATE TABLE sign_requests (
    id            INTEGER PRIMARY KEY,
    client_id     INTEGER NOT NULL REFERENCES clients(id),
    template_id   INTEGER NOT NULL REFERENCES sign_templates(id),
    title         TEXT NOT NULL,
    fields        TEXT NOT NULL,
    document_id   INTEGER NOT NULL REFERENCES documents(id),
    sha256        TEXT NOT NULL CHECK (length(sha256) = 64),
    due_on        TEXT,
    status        TEXT NOT NULL DEFAULT 'sent'
                      CHECK (status IN ('sent', 'completed', 'declined', 'expired')),
    sealed_document_id INTEGER REFERENCES documents(id),
    sealed_sha256 TEXT CHECK (sealed_sha256 IS NULL OR length(sealed_sha256) = 64),
    created_at    TEXT NOT NULL,
    created_by    INTEGER NOT NULL REFERENCES users(id),
    completed_at  TEXT
);
CREATE INDEX sign_requests_client ON sign_requests(client_id, id);
CREATE INDEX sign_requests_sha256 ON sign_requests(sha256);
CREATE INDEX sign_requests_sealed ON sign_requests(sealed_sha256);

CREATE TABLE sign_signers (
    request_id  INTEGER NOT NULL REFERENCES sign_requests(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    position    INTEGER NOT NULL,
    outcome     TEXT CHECK (outcome IS NULL OR outcome IN ('accepted', 'declined')),
    decided_at  TEXT,
    reason      TEXT,
    PRIMARY KEY (request_id, user_id)
);
CREATE INDEX sign_signers_user ON sign_signers(user_id, request_id);

-- Every certificate the firm has sealed with (its seal key's, current and past):
-- `sign verify` trusts these and no other, so a file sealed before the firm made
-- a new seal still verifies.
CREATE TABLE sign_seals (
    id           INTEGER PRIMARY KEY,
    sha256       TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64),
    certificate  TEXT NOT NULL,
    recorded_at  TEXT NOT NULL
);

CREATE TABLE sign_codes (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES sign_requests(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    code_hash   TEXT NOT NULL,
    sent_at     TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sign_codes_request ON sign_codes(request_id, user_id, id);

CREATE TABLE sign_events (
    id            INTEGER PRIMARY KEY,
    request_id    INTEGER NOT NULL REFERENCES sign_requests(id),
    event         TEXT NOT NULL CHECK (event IN ('created', 'sent', 'viewed', 'code_sent',
                      'code_verified', 'accepted', 'declined', 'completed', 'expired')),
    user_id       INTEGER REFERENCES users(id),
    at_utc        TEXT NOT NULL,
    at_rome       TEXT NOT NULL,
    channel       TEXT NOT NULL CHECK (channel IN ('sempi', 'email', 'totp', 'system')),
    hash_before   TEXT CHECK (hash_before IS NULL OR length(hash_before) = 64),
    hash_after    TEXT CHECK (hash_after IS NULL OR length(hash_after) = 64),
    detail        TEXT,
    prev_hash     TEXT NOT NULL CHECK (length(prev_hash) = 64),
    row_hash      TEXT NOT NULL UNIQUE CHECK (length(row_hash) = 64)
);
CREATE INDEX sign_events_request ON sign_events(request_id, id);
CREATE TRIGGER sign_events_append_only_update BEFORE UPDATE ON sign_events
BEGIN
    SELECT RAISE(ABORT, 'sign_events is append-only');
END;
CREATE TRIGGER sign_events_append_only_delete BEFORE DELETE ON sign_events
BEGIN
    SELECT RAISE(ABORT, 'sign_events is append-only');
END;
"""
