"""The firm, practices, clients with their fiscal profile, users, work groups,
sessions, settings and the append-only audit log."""

SQL = """
CREATE TABLE firm (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    name        TEXT NOT NULL CHECK (length(trim(name)) > 0),
    created_at  TEXT NOT NULL
);

CREATE TABLE settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE studios (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL COLLATE NOCASE UNIQUE CHECK (length(trim(name)) > 0),
    partita_iva     TEXT UNIQUE,
    codice_fiscale  TEXT,
    email           TEXT,
    pec             TEXT,
    city            TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    email           TEXT NOT NULL UNIQUE CHECK (email = lower(email)),
    full_name       TEXT NOT NULL CHECK (length(trim(full_name)) > 0),
    role            TEXT NOT NULL CHECK (role IN
                        ('firm-admin', 'staff', 'studio-admin', 'studio-operator', 'external')),
    studio_id       INTEGER REFERENCES studios(id),
    client_id       INTEGER REFERENCES clients(id),
    codice_fiscale  TEXT,
    password_hash   TEXT,
    disabled_at     TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CHECK (CASE role
        WHEN 'external' THEN client_id IS NOT NULL AND studio_id IS NULL
        WHEN 'studio-admin' THEN studio_id IS NOT NULL AND client_id IS NULL
        WHEN 'studio-operator' THEN studio_id IS NOT NULL AND client_id IS NULL
        ELSE studio_id IS NULL AND client_id IS NULL END)
);
CREATE INDEX users_studio ON users(studio_id);
CREATE INDEX users_client ON users(client_id);

CREATE TABLE clients (
    id                      INTEGER PRIMARY KEY,
    studio_id               INTEGER NOT NULL REFERENCES studios(id),
    ragione_sociale         TEXT NOT NULL CHECK (length(trim(ragione_sociale)) > 0),
    taxpayer_kind           TEXT NOT NULL CHECK (taxpayer_kind IN
                                ('persona_fisica', 'societa_persone', 'societa_capitali', 'ente')),
    codice_fiscale          TEXT,
    partita_iva             TEXT,
    email                   TEXT,
    pec                     TEXT,
    nickname                TEXT,
    responsible_id          INTEGER REFERENCES users(id),
    smart_services          TEXT NOT NULL DEFAULT '[]',
    -- fiscal profile (FISCAL_RULES.md section 5)
    iva_periodicity         TEXT NOT NULL DEFAULT 'none' CHECK (iva_periodicity IN
                                ('mensile', 'trimestrale', 'trimestrale_speciale', 'none')),
    contabilita_presso_terzi INTEGER NOT NULL DEFAULT 0 CHECK (contabilita_presso_terzi IN (0, 1)),
    intra1_goods            TEXT NOT NULL DEFAULT 'none'
                                CHECK (intra1_goods IN ('mensile', 'trimestrale', 'none')),
    intra1_services         TEXT NOT NULL DEFAULT 'none'
                                CHECK (intra1_services IN ('mensile', 'trimestrale', 'none')),
    intra2_goods            TEXT NOT NULL DEFAULT 'none' CHECK (intra2_goods IN ('mensile', 'none')),
    intra2_services         TEXT NOT NULL DEFAULT 'none'
                                CHECK (intra2_services IN ('mensile', 'none')),
    has_reverse_charge_purchases INTEGER NOT NULL DEFAULT 0
                                CHECK (has_reverse_charge_purchases IN (0, 1)),
    has_foreign_purchases   INTEGER NOT NULL DEFAULT 0 CHECK (has_foreign_purchases IN (0, 1)),
    sostituto_imposta       INTEGER NOT NULL DEFAULT 0 CHECK (sostituto_imposta IN (0, 1)),
    has_employees           INTEGER NOT NULL DEFAULT 0 CHECK (has_employees IN (0, 1)),
    gs_committente          INTEGER NOT NULL DEFAULT 0 CHECK (gs_committente IN (0, 1)),
    inps_ivs                TEXT NOT NULL DEFAULT 'none'
                                CHECK (inps_ivs IN ('artigiano', 'commerciante', 'none')),
    inps_gs_professionista  INTEGER NOT NULL DEFAULT 0 CHECK (inps_gs_professionista IN (0, 1)),
    isa_subject             INTEGER NOT NULL DEFAULT 0 CHECK (isa_subject IN (0, 1)),
    forfettario             INTEGER NOT NULL DEFAULT 0 CHECK (forfettario IN (0, 1)),
    issues_bollo_efatture   INTEGER NOT NULL DEFAULT 0 CHECK (issues_bollo_efatture IN (0, 1)),
    imu_owner               INTEGER NOT NULL DEFAULT 0 CHECK (imu_owner IN (0, 1)),
    removed_at              TEXT,
    created_at              TEXT NOT NULL,
    updated_at              TEXT NOT NULL,
    CHECK (codice_fiscale IS NOT NULL OR partita_iva IS NOT NULL),
    CHECK (NOT (forfettario = 1 AND iva_periodicity <> 'none'))
);
CREATE UNIQUE INDEX clients_studio_cf ON clients(studio_id, codice_fiscale);
CREATE UNIQUE INDEX clients_studio_piva ON clients(studio_id, partita_iva);
CREATE INDEX clients_responsible ON clients(responsible_id);
CREATE INDEX clients_name ON clients(ragione_sociale COLLATE NOCASE, id);

-- Each client has one work group; its membership is the list of who may enter it.
CREATE TABLE work_group_members (
    client_id   INTEGER NOT NULL REFERENCES clients(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    added_at    TEXT NOT NULL,
    added_by    INTEGER REFERENCES users(id),
    PRIMARY KEY (client_id, user_id)
) WITHOUT ROWID;
CREATE INDEX work_group_members_user ON work_group_members(user_id, client_id);

CREATE TABLE sessions (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id),
    token_hash      TEXT NOT NULL UNIQUE,
    created_at      TEXT NOT NULL,
    last_seen_at    TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    revoked_at      TEXT
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor_id    INTEGER REFERENCES users(id),
    action      TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id   INTEGER,
    details     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_object ON audit_log(object_type, object_id);
CREATE INDEX audit_log_actor ON audit_log(actor_id, at);

CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
"""
