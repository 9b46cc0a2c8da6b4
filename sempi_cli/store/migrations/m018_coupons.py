"""Conto Terzi migration coupons (SPEC §7, services/coupons/).

A client is marked as served *conto terzi* and as having bought its own licence
(two columns of ``clients``, owned by clients/). The practice's coupon packages
(``coupon_packages``: not nominal, any coupon of a package serves any eligible
client); the cancellations (disdette) of a package's tacit renewal; the link of
a client to its account in the vendor's product (``coupon_accounts``: the
e-mail, the consultant who authorised it, first access, usage against the
limits); and each term of a client's licence (``coupon_licences``), a coupon
drawn from a package or a licence the client bought. A package's coupons left
are its count less the terms drawn from it; a licence's state is computed from
its dates, never stored.
"""

SQL = """
ALTER TABLE clients ADD COLUMN conto_terzi INTEGER NOT NULL DEFAULT 0
    CHECK (conto_terzi IN (0, 1));
ALTER TABLE clients ADD COLUMN own_licence INTEGER NOT NULL DEFAULT 0
    CHECK (own_licence IN (0, 1));
CREATE INDEX clients_conto_terzi ON clients(studio_id, id) WHERE conto_terzi = 1;

CREATE TABLE coupon_packages (
    id           INTEGER PRIMARY KEY,
    studio_id    INTEGER NOT NULL REFERENCES studios(id),
    type         TEXT NOT NULL
                     CHECK (type IN ('migrazione', 'rinnovo', 'rinnovabile', 'forfettario')),
    count        INTEGER NOT NULL CHECK (count BETWEEN 1 AND 100000),
    valid_until  TEXT NOT NULL CHECK (length(valid_until) = 10 AND substr(valid_until, 6) = '12-31'),
    reference    TEXT,
    added_at     TEXT NOT NULL,
    added_by     INTEGER NOT NULL REFERENCES users(id)
);
CREATE INDEX coupon_packages_studio ON coupon_packages(studio_id, type, valid_until);

CREATE TABLE coupon_cancellations (
    id            INTEGER PRIMARY KEY,
    package_id    INTEGER NOT NULL REFERENCES coupon_packages(id),
    renewal_year  INTEGER NOT NULL,
    pec_ref       TEXT NOT NULL,
    sent_on       TEXT NOT NULL,
    recorded_at   TEXT NOT NULL,
    recorded_by   INTEGER NOT NULL REFERENCES users(id),
    UNIQUE (package_id, renewal_year)
);

CREATE TABLE coupon_accounts (
    client_id           INTEGER PRIMARY KEY REFERENCES clients(id),
    email               TEXT NOT NULL,
    nickname            TEXT,
    consultant_name     TEXT NOT NULL,
    consultant_surname  TEXT NOT NULL,
    consultant_cf       TEXT NOT NULL CHECK (length(consultant_cf) = 16),
    authorised_at       TEXT NOT NULL,
    authorised_by       INTEGER NOT NULL REFERENCES users(id),
    unlinked_at         TEXT,
    unlinked_by         INTEGER REFERENCES users(id),
    first_access_at     TEXT,
    documents           INTEGER NOT NULL DEFAULT 0 CHECK (documents >= 0),
    contacts            INTEGER NOT NULL DEFAULT 0 CHECK (contacts >= 0),
    usage_at            TEXT,
    documents_notified  INTEGER NOT NULL DEFAULT 0 CHECK (documents_notified IN (0, 80, 100)),
    contacts_notified   INTEGER NOT NULL DEFAULT 0 CHECK (contacts_notified IN (0, 80, 100))
);

CREATE TABLE coupon_licences (
    id          INTEGER PRIMARY KEY,
    client_id   INTEGER NOT NULL REFERENCES clients(id),
    package_id  INTEGER REFERENCES coupon_packages(id),
    how         TEXT NOT NULL CHECK (how IN ('migration', 'renewal', 'upgrade', 'purchased')),
    licence     TEXT NOT NULL CHECK (licence IN ('standard-readonly', 'complete')),
    starts_on   TEXT NOT NULL,
    ends_on     TEXT NOT NULL CHECK (substr(ends_on, 6) = '12-31' AND ends_on >= starts_on),
    created_at  TEXT NOT NULL,
    created_by  INTEGER NOT NULL REFERENCES users(id),
    CHECK ((package_id IS NULL) = (how = 'purchased'))
);
CREATE INDEX coupon_licences_client ON coupon_licences(client_id, ends_on);
CREATE INDEX coupon_licences_package ON coupon_licences(package_id);
"""
