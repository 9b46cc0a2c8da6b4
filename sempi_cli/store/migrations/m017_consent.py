"""Consent to SMART services (SPEC §6, services/consent/).

A practice's option to reach its clients' SMART services with its own
credentials (and whether its operators may too); the consent requests sent to
clients, each with the e-mail the outbox carries; the clients' answers, an
append-only record: triggers refuse UPDATE and DELETE, and each row carries the
SHA-256 of the row before it and of its own content (services/ledger.py), so
`sempi consent verify` finds a row changed behind the tool's back.
"""

SQL = """
CREATE TABLE smart_options (
    studio_id   INTEGER PRIMARY KEY REFERENCES studios(id),
    enabled     INTEGER NOT NULL DEFAULT 0 CHECK (enabled IN (0, 1)),
    operators   INTEGER NOT NULL DEFAULT 0 CHECK (operators IN (0, 1)),
    changed_at  TEXT NOT NULL,
    changed_by  INTEGER REFERENCES users(id)
);

CREATE TABLE consent_requests (
    id            INTEGER PRIMARY KEY,
    client_id     INTEGER NOT NULL REFERENCES clients(id),
    services      TEXT NOT NULL,
    requested_at  TEXT NOT NULL,
    requested_by  INTEGER NOT NULL REFERENCES users(id),
    mail_id       INTEGER REFERENCES mail_outbox(id)
);
CREATE INDEX consent_requests_client ON consent_requests(client_id, id);

CREATE TABLE consent_answers (
    id                    INTEGER PRIMARY KEY,
    client_id             INTEGER NOT NULL REFERENCES clients(id),
    answer                TEXT NOT NULL CHECK (answer IN ('yes', 'no')),
    comment               TEXT,
    answered_at           TEXT NOT NULL,
    answered_by           INTEGER NOT NULL REFERENCES users(id),
    on_behalf             INTEGER NOT NULL DEFAULT 0 CHECK (on_behalf IN (0, 1)),
    channel               TEXT NOT NULL
                              CHECK (channel IN ('sempi', 'pec', 'email', 'paper', 'phone')),
    evidence_document_id  INTEGER REFERENCES documents(id),
    request_id            INTEGER REFERENCES consent_requests(id),
    prev_hash             TEXT NOT NULL CHECK (length(prev_hash) = 64),
    row_hash              TEXT NOT NULL UNIQUE CHECK (length(row_hash) = 64),
    CHECK (on_behalf = 1 OR channel = 'sempi')
);
CREATE INDEX consent_answers_client ON consent_answers(client_id, id);
CREATE TRIGGER consent_answers_append_only_update BEFORE UPDATE ON consent_answers
BEGIN
    SELECT RAISE(ABORT, 'consent_answers is append-only');
END;
CREATE TRIGGER consent_answers_append_only_delete BEFORE DELETE ON consent_answers
BEGIN
    SELECT RAISE(ABORT, 'consent_answers is append-only');
END;
"""
