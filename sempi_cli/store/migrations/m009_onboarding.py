"""Onboarding: the modules each client uses and its delegations for the public
channels (the invitations of its external users are mail, in the outbox of m008)."""

SQL = """
-- The modules of sempi a client uses: who may see the client is its work group
-- (work_group_members); what its members find there is this list. A client with
-- no row here was added before onboarding existed and keeps every module.
CREATE TABLE client_modules (
    client_id   INTEGER NOT NULL REFERENCES clients(id),
    module      TEXT NOT NULL CHECK (module IN ('tasks', 'documents', 'chat', 'smart')),
    enabled_at  TEXT NOT NULL,
    enabled_by  INTEGER REFERENCES users(id),
    PRIMARY KEY (client_id, module)
) WITHOUT ROWID;

-- The delegations (deleghe) that let the firm act on the tax authority's and
-- other public channels for the client: one current record per kind. What is
-- kept is the fact and its reference (the protocol or delegation number) and
-- until when it is valid; never a credential of the client's.
CREATE TABLE client_delegations (
    client_id   INTEGER NOT NULL REFERENCES clients(id),
    kind        TEXT NOT NULL CHECK (kind IN ('cassetto_fiscale', 'fatture_corrispettivi',
                    'intermediario_entratel', 'inps', 'camera_commercio')),
    reference   TEXT NOT NULL CHECK (length(trim(reference)) > 0 AND length(reference) <= 64),
    valid_until TEXT NOT NULL CHECK (valid_until GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    recorded_by INTEGER REFERENCES users(id),
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (client_id, kind)
) WITHOUT ROWID;
CREATE INDEX client_delegations_expiry ON client_delegations(valid_until);
"""
