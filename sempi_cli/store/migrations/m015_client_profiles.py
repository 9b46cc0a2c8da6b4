"""The fiscal profile gets a history: ``client_profiles`` holds each version with
the day it is in force from (services/clients/history.py), and leaves ``clients``.

A change of VAT periodicity recorded in December applies from 1 January; with
one profile per client the scheduler could only apply it to every period, the
months already past included. Each client's profile so far becomes its first
version, in force from the start ('0001-01-01'), recorded when the client was
last updated. ``clients`` is rebuilt without the profile columns (SQLite's
twelve steps: foreign keys are off while migrations run, store/migrations).
"""

SQL = """
CREATE TABLE client_profiles (
    client_id               INTEGER NOT NULL REFERENCES clients(id),
    valid_from              TEXT NOT NULL CHECK (length(valid_from) = 10),
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
    recorded_at             TEXT NOT NULL,
    recorded_by             INTEGER REFERENCES users(id),
    PRIMARY KEY (client_id, valid_from),
    CHECK (NOT (forfettario = 1 AND iva_periodicity <> 'none'))
);

INSERT INTO client_profiles
SELECT id, '0001-01-01', iva_periodicity, contabilita_presso_terzi, intra1_goods, intra1_services,
       intra2_goods, intra2_services, has_reverse_charge_purchases, has_foreign_purchases,
       sostituto_imposta, has_employees, gs_committente, inps_ivs, inps_gs_professionista,
       isa_subject, forfettario, issues_bollo_efatture, imu_owner, updated_at, NULL
FROM clients;

CREATE TABLE clients_new (
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
    removed_at              TEXT,
    created_at              TEXT NOT NULL,
    updated_at              TEXT NOT NULL,
    CHECK (codice_fiscale IS NOT NULL OR partita_iva IS NOT NULL)
);
INSERT INTO clients_new
SELECT id, studio_id, ragione_sociale, taxpayer_kind, codice_fiscale, partita_iva, email, pec,
       nickname, responsible_id, smart_services, removed_at, created_at, updated_at
FROM clients;
DROP TABLE clients;
ALTER TABLE clients_new RENAME TO clients;
CREATE UNIQUE INDEX clients_studio_cf ON clients(studio_id, codice_fiscale);
CREATE UNIQUE INDEX clients_studio_piva ON clients(studio_id, partita_iva);
CREATE INDEX clients_responsible ON clients(responsible_id);
CREATE INDEX clients_name ON clients(ragione_sociale COLLATE NOCASE, id);
"""
