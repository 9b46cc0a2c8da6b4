"""Build a demo store to try sempi on: ``python -m sempi_cli.demo DIR`` (``make demo``).

Why: a new colleague (or a reviewer) should see a realistic firm in one
command - two practices, forty clients with valid Italian identifiers and
varied fiscal profiles, users of every role, extraordinary tasks due around
today - without typing a hundred ``sempi client add``; then the main job: the
scheduler generates the next 12 months of fiscal deadlines, shows the
scadenzario and explains one date. Everything goes through the services, so the demo also
proves that the services accept what a real office would enter. The data are
deterministic (``random.Random(2026)``): two runs build the same store, apart
from timestamps, password salts and task deadlines (set around the day it runs). The password is a public demo password:
never reuse this store for real data.
"""

from __future__ import annotations

import os
import random
import re
import shlex
import sqlite3
import subprocess
import sys
import unicodedata
from datetime import date, timedelta
from pathlib import Path

from stdnum import luhn
from stdnum.it import codicefiscale

from sempi_cli import i18n
from sempi_cli.clock import Clock, SystemClock, today_in_rome
from sempi_cli.i18n import N_
from sempi_cli.i18n import gettext as _
from sempi_cli.services.access import Actor
from sempi_cli.services.clients.input import SMART_SERVICES
from sempi_cli.services.clients.profile import PROFILE_FIELDS, defaults
from sempi_cli.services.identity.auth import actor_from_row
from sempi_cli.services.onboarding.batch import BatchService
from sempi_cli.services.onboarding.batch_file import BatchFile
from sempi_cli.services.org.firm import create_store
from sempi_cli.services.org.groups import GroupService
from sempi_cli.services.org.studios import StudioService
from sempi_cli.services.org.users import UserService
from sempi_cli.services.tasks.flow import TaskFlow
from sempi_cli.services.tasks.input import TaskInput
from sempi_cli.services.tasks.tasks import TaskService
from sempi_cli.store import write_transaction

FIRM = "Sempi Servizi Contabili Srl"
ADMIN = ("admin@sempi.demo", "Valentina Conti")
DEMO_PASSWORD = "demo-password-2026"  # public, printed: this is a demo store
EXAMPLES_SEED = 40  # the clients of docs/examples/demo-*.csv
STAFF = [
    ("giulia.ferri@sempi.demo", "Giulia Ferri"),
    ("marco.bellini@sempi.demo", "Marco Bellini"),
    ("sara.colombo@sempi.demo", "Sara Colombo"),
]
# name, city, P.IVA office code, web domain, titolare, two collaboratori
STUDIOS = [
    (
        "Studio Rossi & Associati",
        "Milano",
        "015",
        "studio-rossi.it",
        "Paolo Rossi",
        ["Chiara Galli", "Luca Moretti"],
    ),
    (
        "Studio Esposito Commercialisti",
        "Napoli",
        "063",
        "studioesposito.it",
        "Antonio Esposito",
        ["Francesca Russo", "Gennaro De Luca"],
    ),
]
# Fiscal profile archetypes (FISCAL_RULES.md §5); unnamed fields keep their defaults.
ARCHETYPES: dict[str, dict[str, object]] = {
    "commercio": dict(
        iva_periodicity="mensile",
        intra1_goods="mensile",
        intra2_goods="mensile",
        has_foreign_purchases=True,
        sostituto_imposta=True,
        has_employees=True,
        isa_subject=True,
    ),
    "manifattura": dict(
        iva_periodicity="mensile",
        contabilita_presso_terzi=True,
        intra1_goods="trimestrale",
        sostituto_imposta=True,
        has_employees=True,
        gs_committente=True,
        isa_subject=True,
        imu_owner=True,
    ),
    "edile": dict(
        iva_periodicity="mensile",
        has_reverse_charge_purchases=True,
        sostituto_imposta=True,
        has_employees=True,
        isa_subject=True,
    ),
    "servizi": dict(
        iva_periodicity="trimestrale",
        intra1_services="trimestrale",
        intra2_services="mensile",
        sostituto_imposta=True,
        gs_committente=True,
        isa_subject=True,
    ),
    "trasporti": dict(
        iva_periodicity="trimestrale_speciale",
        has_foreign_purchases=True,
        sostituto_imposta=True,
        has_employees=True,
        inps_ivs="artigiano",
    ),
    "artigiani": dict(iva_periodicity="trimestrale", inps_ivs="artigiano", isa_subject=True),
    "negozio": dict(
        iva_periodicity="trimestrale",
        inps_ivs="commerciante",
        isa_subject=True,
        sostituto_imposta=True,
        has_employees=True,
    ),
    "prof_ord": dict(
        iva_periodicity="trimestrale",
        inps_gs_professionista=True,
        sostituto_imposta=True,
        isa_subject=True,
    ),
    "ditta_forf": dict(forfettario=True, inps_ivs="artigiano", issues_bollo_efatture=True),
    "negozio_forf": dict(forfettario=True, inps_ivs="commerciante", issues_bollo_efatture=True),
    "prof_forf": dict(forfettario=True, inps_gs_professionista=True, issues_bollo_efatture=True),
    "ditta_ord": dict(iva_periodicity="trimestrale", inps_ivs="artigiano", isa_subject=True),
    "ente": dict(),
}
# ragione sociale, archetype, "Surname|Name|Sex" for persone fisiche; 20 per practice.
CLIENTS = [
    [
        ("Bianchi Costruzioni Srl", "edile", None),
        ("Lombarda Meccanica Spa", "manifattura", None),
        ("Brambilla Import Export Srl", "commercio", None),
        ("Galbiati & Figli Snc", "artigiani", None),
        ("Mariani Software Srl", "servizi", None),
        ("Cantoni Trasporti Snc", "trasporti", None),
        ("Ferramenta Colombo Sas", "negozio", None),
        ("Villa Arredamenti Srl", "commercio", None),
        ("Brianza Serramenti Srls", "edile", None),
        ("Sala Consulting Srl", "servizi", None),
        ("Associazione Culturale Navigli", "ente", None),
        ("Idraulica Ferrari di Giovanni Ferrari", "ditta_forf", "Ferrari|Giovanni|M"),
        ("Fumagalli Elena", "prof_forf", "Fumagalli|Elena|F"),
        ("Avv. Roberto Cattaneo", "prof_ord", "Cattaneo|Roberto|M"),
        ("Panificio Redaelli di Marco Redaelli", "negozio", "Redaelli|Marco|M"),
        ("Arch. Silvia Porta", "prof_ord", "Porta|Silvia|F"),
        ("Elettricista Longoni Davide", "ditta_forf", "Longoni|Davide|M"),
        ("Erboristeria Mauri di Paola Mauri", "negozio_forf", "Mauri|Paola|F"),
        ("Dott. Stefano Rota", "prof_ord", "Rota|Stefano|M"),
        ("Grafica Pozzi di Alessia Pozzi", "prof_forf", "Pozzi|Alessia|F"),
    ],
    [
        ("Vesuvio Alimentari Srl", "commercio", None),
        ("Partenope Costruzioni Srl", "edile", None),
        ("Caputo & Romano Snc", "artigiani", None),
        ("Golfo Logistica Sas", "trasporti", None),
        ("Napoli Digital Srl", "servizi", None),
        ("Pastificio Gragnano Spa", "manifattura", None),
        ("Ceramiche Vietresi Sas", "negozio", None),
        ("De Rosa Ottica Snc", "negozio", None),
        ("Costiera Hotels Srl", "servizi", None),
        ("Salerno Impianti Srls", "edile", None),
        ("Esposito Gennaro", "ditta_forf", "Esposito|Gennaro|M"),
        ("Dott.ssa Anna Ruggiero", "prof_ord", "Ruggiero|Anna|F"),
        ("Sartoria Marino di Ciro Marino", "ditta_forf", "Marino|Ciro|M"),
        ("Ing. Vincenzo Coppola", "prof_ord", "Coppola|Vincenzo|M"),
        ("Pizzeria D'Angelo di Salvatore D'Angelo", "negozio", "D'Angelo|Salvatore|M"),
        ("Avv. Teresa Iovine", "prof_forf", "Iovine|Teresa|F"),
        ("Frutta e Verdura Greco Luisa", "negozio_forf", "Greco|Luisa|F"),
        ("Carrozzeria Amato di Pasquale Amato", "ditta_ord", "Amato|Pasquale|M"),
        ("Parrucchiera Sorrentino Rita", "ditta_forf", "Sorrentino|Rita|F"),
        ("Geom. Raffaele Cirillo", "prof_forf", "Cirillo|Raffaele|M"),
    ],
]
NICKNAMES = {
    "Lombarda Meccanica Spa": "LoMec",
    "Brambilla Import Export Srl": "Brambilla",
    "Pastificio Gragnano Spa": "Pastificio",
    "Vesuvio Alimentari Srl": "Vesuvio",
}
EXTERNALS = [
    ("Bianchi Costruzioni Srl", "Laura Bianchi"),
    ("Napoli Digital Srl", "Pietro Gallo"),
    ("Arch. Silvia Porta", "Silvia Porta"),
]
COMUNI = {
    "Milano": "F205",
    "Napoli": "F839",
    "Roma": "H501",
    "Torino": "L219",
    "Bologna": "A944",
    "Bergamo": "A794",
    "Salerno": "H703",
    "Caserta": "B963",
}
PEC_PROVIDERS = ("pec.it", "legalmail.it", "arubapec.it")
# The staff user whose `sempi task due` the demo shows (logged in in a home of her own).
DUE_USER = STAFF[0][0]
MESI = (
    "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre"
).split()
# Extraordinary tasks (incarichi straordinari), one a line: title ({mese}: last month,
# the books are kept a month behind) | client | responsible | creator (admin, the
# practice's titolare rossi/esposito, or a staff member) | deadline in days from today
# (0: by the end of today; w: later this week, two days on at most; -: none) | options | the verbs that follow, in order (by the
# responsible; "approve" by the creator).
TASKS = """
Registrazione fatture di acquisto {mese} | Bianchi Costruzioni Srl | giulia | rossi | -4 | high planned=3h tags=contabilita | start
Invio F24 ritenute {mese} | Lombarda Meccanica Spa | giulia | admin | -1 | high fixed tags=f24 |
Richiesta estratti conto bancari | Brambilla Import Export Srl | giulia | rossi | 0 | tags=banca,documenti observers=chiara.galli@studio-rossi.it |
Verifica corrispettivi telematici {mese} | Ferramenta Colombo Sas | giulia | marco | 0 | planned=1h tags=iva | start
Riconciliazione estratto conto {mese} | Villa Arredamenti Srl | giulia | rossi | w | planned=2h tags=banca |
Controllo fatture scartate dallo SdI | Mariani Software Srl | giulia | admin | 3 | tags=fatturazione |
Predisposizione bilancio di verifica | Vesuvio Alimentari Srl | giulia | esposito | 12 | approval planned=4h participants=sara.colombo@sempi.demo |
Aggiornamento anagrafica fornitori | Pastificio Gragnano Spa | giulia | esposito | 25 | |
Ravvedimento operoso F24 omesso | Partenope Costruzioni Srl | giulia | esposito | -7 | high approval tags=f24 | start done
Registrazione cespiti e ammortamenti | Galbiati & Figli Snc | giulia | rossi | -10 | approval | start done approve
Sollecito documenti mancanti al cliente | Napoli Digital Srl | marco | giulia | 1 | approval tags=documenti | start done
Verifica posizione INPS e INAIL | Cantoni Trasporti Snc | marco | rossi | -2 | |
Caricamento scontrini e corrispettivi {mese} | Panificio Redaelli di Marco Redaelli | marco | rossi | 4 | planned=45m | start
Rettifica registrazioni di prima nota | Sala Consulting Srl | marco | admin | 9 | |
Invio F24 ritenute {mese} | Costiera Hotels Srl | marco | esposito | -1 | high tags=f24 | start done
Comunicazione acconto IVA al cliente | Brianza Serramenti Srls | marco | admin | 30 | approval tags=iva |
Preparazione prospetto ratei e risconti | Golfo Logistica Sas | sara | esposito | 18 | approval planned=2h30m |
Richiesta visura camerale aggiornata | Caputo & Romano Snc | sara | sara | 6 | tags=documenti |
Stampa registri IVA {mese} | De Rosa Ottica Snc | sara | esposito | -3 | tags=iva |
Analisi scostamenti ISA | Ceramiche Vietresi Sas | sara | esposito | 40 | planned=3h |
Verifica corrispettivi telematici {mese} | Pizzeria D'Angelo di Salvatore D'Angelo | sara | esposito | -6 | | start done
Riordino archivio documenti | Associazione Culturale Navigli | sara | rossi | - | | defer
"""


def slug(text: str, sep: str = "") -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return sep.join(re.findall(r"[a-z0-9]+", ascii_text))


def with_luhn(base: str) -> str:
    return base + luhn.calc_check_digit(base)


def partita_iva(rng: random.Random, office: str, taken: set[str]) -> str:
    """7-digit progressive + office code + Luhn check digit, unique in this store."""
    while (number := with_luhn(f"{rng.randint(1, 9_999_999):07d}{office}")) in taken:
        pass
    taken.add(number)
    return number


def person_cf(surname: str, name: str, sex: str, born: date, comune: str) -> str:
    """The real algorithm: consonants then vowels, birth date, comune, check character."""

    def letters(word: str) -> str:
        upper = slug(word).upper()
        return "".join(sorted(upper, key=lambda c: c in "AEIOU"))  # consonants, then vowels

    code = (letters(surname) + "XXX")[:3]
    cons = "".join(c for c in slug(name).upper() if c not in "AEIOU")
    code += cons[0] + cons[2] + cons[3] if len(cons) >= 4 else (letters(name) + "XXX")[:3]
    day = born.day + (40 if sex == "F" else 0)
    code += f"{born.year % 100:02d}{'ABCDEHLMPRST'[born.month - 1]}{day:02d}{comune}"
    return code + codicefiscale.calc_check_digit(code)


def client_profile(rng: random.Random, archetype: str) -> dict[str, object]:
    values = dict(ARCHETYPES[archetype])
    if rng.random() < 0.3:
        values["imu_owner"] = True
    if values.get("iva_periodicity") not in (None, "none") and rng.random() < 0.2:
        values["issues_bollo_efatture"] = True
    if archetype == "ditta_ord" and rng.random() < 0.5:
        values.update(has_employees=True, sostituto_imposta=True)
    return values


def client_identity(
    rng: random.Random, entry: tuple, city: str, office: str, taken: set[str]
) -> dict[str, object]:
    """kind, codice fiscale, partita IVA and e-mail of one CLIENTS entry."""
    ragione_sociale, archetype, person = entry
    domain = (
        slug(re.sub(r" (Srls?|Spa|Snc|Sas)$", "", ragione_sociale), "-")[:30].rstrip("-") + ".it"
    )
    if person:
        surname, name, sex = person.split("|")
        born = date(rng.randint(1958, 1996), rng.randint(1, 12), rng.randint(1, 28))
        comune = COMUNI[city] if rng.random() < 0.6 else rng.choice(sorted(COMUNI.values()))
        provider = rng.choice(("gmail.com", "libero.it", domain))
        cf = person_cf(surname, name, sex, born, comune)
        return dict(
            kind="persona_fisica",
            codice_fiscale=cf,
            partita_iva=partita_iva(rng, office, taken),
            email=f"{slug(name)}.{slug(surname)}@{provider}",
        )
    if archetype == "ente":  # a numeric codice fiscale only, no P.IVA
        cf = with_luhn(f"9{rng.randint(0, 999_999):06d}{office}")
        return dict(kind="ente", codice_fiscale=cf, partita_iva=None, email=f"info@{domain}")
    kind = "societa_persone" if ragione_sociale.endswith(("Snc", "Sas")) else "societa_capitali"
    piva = partita_iva(rng, office, taken)
    return dict(kind=kind, codice_fiscale=piva, partita_iva=piva, email=f"amministrazione@{domain}")


def build(db_path: Path, rng: random.Random) -> None:
    """The store, or nothing at all: a half-built demo would block the next run."""
    clock = SystemClock()
    conn, firm = create_store(db_path, clock, FIRM, ADMIN[0], ADMIN[1], DEMO_PASSWORD)
    try:
        row = conn.execute("SELECT * FROM users WHERE id = ?", (firm["admin_id"],)).fetchone()
        with write_transaction(conn):  # one transaction: one commit, not hundreds
            populate(conn, clock, actor_from_row(row), rng, db_path.parent / "sigillo")
    except BaseException:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        raise
    conn.close()


EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
LETTER = "lettera-incarico.md"  # the demo's signature template
BATCH_COLUMNS = (
    "ragione_sociale", "kind", "codice_fiscale", "partita_iva", "email", "pec", "nickname",
    "responsible", "smart_services", "practice_users", "conto_terzi",
    *(f.name for f in PROFILE_FIELDS),
)  # fmt: skip


def example_file(studio_name: str) -> Path:
    return EXAMPLES / f"demo-{slug(studio_name, '-')}.csv"


def example_rows(rng: random.Random) -> dict[str, list[dict[str, str]]]:
    """The demo's clients as the practices hand them over: batch-file rows per
    practice (the files in docs/examples/ are these, written by --examples)."""
    taken: set[str] = set()
    files = {}
    for (studio_name, city, office, *_rest), entries in zip(STUDIOS, CLIENTS, strict=True):
        rows = []
        for entry in entries:
            name = entry[0]
            smart = rng.sample(SMART_SERVICES, rng.randint(1, 2)) if rng.random() < 0.35 else []
            identity = client_identity(rng, entry, city, office, taken)
            profile = {**defaults(), **client_profile(rng, entry[1])}
            row = {
                "ragione_sociale": name,
                "kind": identity["kind"],
                "codice_fiscale": identity["codice_fiscale"] or "",
                "partita_iva": identity["partita_iva"] or "",
                "email": identity["email"],
                "pec": f"{slug(name)[:30]}@{rng.choice(PEC_PROVIDERS)}",
                "nickname": NICKNAMES.get(name, ""),
                "responsible": rng.choice(STAFF)[0],
                "smart_services": ",".join(smart),
                "practice_users": "all" if rng.random() < 0.4 else "none",
                # Every third client with a partita IVA invoiced through the vendor's
                # conto terzi arrangement (no draw: the other values stay as they were).
                "conto_terzi": "yes" if identity["partita_iva"] and len(rows) % 3 == 0 else "no",
            }
            for field in PROFILE_FIELDS:
                value = profile[field.name]
                row[field.name] = (
                    ("yes" if value else "no") if field.choices is None else str(value)
                )
            rows.append(row)
        files[studio_name] = rows
    return files


def write_examples(rng: random.Random) -> list[Path]:
    import csv

    written = []
    for studio_name, rows in example_rows(rng).items():
        path = example_file(studio_name)
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, BATCH_COLUMNS, delimiter=";", lineterminator="\r\n")
            writer.writeheader()
            writer.writerows(rows)
        written.append(path)
    return written


def populate(
    conn: sqlite3.Connection, clock: Clock, admin: Actor, rng: random.Random, seal_folder: Path
) -> None:
    users = UserService(conn, clock, admin)
    groups, studios = GroupService(conn, clock, admin), StudioService(conn, clock, admin)

    def add_user(email: str, name: str, role: str, **where: int) -> int:
        return users.add(email, name, role, password=DEMO_PASSWORD, **where)["id"]

    for email, name in STAFF:
        add_user(email, name, "staff")
    taken: set[str] = set()
    for studio_row in STUDIOS:
        studio_name, city, office, web, boss, operators = studio_row
        studio = studios.add(
            studio_name,
            partita_iva=partita_iva(rng, office, taken),
            city=city,
            email=f"segreteria@{web}",
            pec=f"{slug(studio_name)}@{rng.choice(PEC_PROVIDERS)}",
        )["id"]
        add_user(f"{slug(boss, '.')}@{web}", boss, "studio-admin", studio=studio)
        for name in operators:
            add_user(f"{slug(name, '.')}@{web}", name, "studio-operator", studio=studio)
        # The practice hands its clients over as a batch file (docs/examples/).
        report = BatchService(conn, clock, admin).run(
            BatchFile(example_file(studio_name)), studio=studio, deadlines=False
        )
        refused = [r for r in report["results"] if r["action"] == "refused"]
        if refused or not report["written"]:
            raise RuntimeError(
                f"the demo's batch file for {studio_name} was refused: {refused[:3]}"
            )
    client_ids = {
        name: client_id
        for client_id, name in conn.execute("SELECT id, ragione_sociale FROM clients")
    }
    for client, name in EXTERNALS:
        add_user(f"{slug(name, '.')}@cliente.demo", name, "external", client=client_ids[client])
    add_tasks(conn, clock, groups, client_ids)
    add_coupons(conn, clock, admin)
    add_signing(conn, clock, admin, seal_folder)


def add_coupons(conn: sqlite3.Connection, clock: Clock, admin: Actor) -> None:
    """The first practice's coupons: a migration package, half its conto terzi clients
    migrated (authorised by its administrator), next year's renewal coupons."""
    from sempi_cli.services.coupons.migrate import CouponMigration
    from sempi_cli.services.coupons.packages import CouponPackages

    year = today_in_rome(clock).year
    studio, boss = STUDIOS[0][0], STUDIOS[0][4]
    packages = CouponPackages(conn, clock, admin)
    packages.add(studio, "migrazione", 20, date(year, 12, 31), "ORD-DEMO-1")
    packages.add(studio, "rinnovo", 10, date(year + 1, 12, 31), "RIN-DEMO-1")
    conto_terzi = [
        row[0]
        for row in conn.execute(
            "SELECT c.id FROM clients c JOIN studios s ON s.id = c.studio_id"
            " WHERE s.name = ? AND c.conto_terzi = 1 ORDER BY c.id",
            (studio,),
        )
    ]
    name, surname = boss.split(" ", 1)
    CouponMigration(conn, clock, admin).migrate(
        conto_terzi[::2],
        consultant_name=name,
        consultant_surname=surname,
        consultant_cf=person_cf(surname, name, "M", date(1968, 3, 12), "F205"),
    )


def add_signing(conn: sqlite3.Connection, clock: Clock, admin: Actor, seal_folder: Path) -> None:
    """The firm's seal (beside the demo store), the engagement letter of
    docs/examples/ as a signature template, and one letter sent to the first
    external user's client, to sign within two weeks."""
    from sempi_cli.services.signing.requests import SignRequests
    from sempi_cli.services.signing.seal import SealService
    from sempi_cli.services.signing.templates import SignTemplates

    SealService(conn, clock, admin).init(str(seal_folder))
    SignTemplates(conn, clock, admin).add("Lettera d'incarico", str(EXAMPLES / LETTER))
    client, name = EXTERNALS[0]
    client_id = conn.execute("SELECT id FROM clients WHERE ragione_sociale = ?", (client,))
    SignRequests(conn, clock, admin).request(
        client_id.fetchone()[0],
        template="Lettera d'incarico",
        signers=[f"{slug(name, '.')}@cliente.demo"],
        due=(today_in_rome(clock) + timedelta(days=14)).isoformat(),
    )


def add_tasks(
    conn: sqlite3.Connection, clock: Clock, groups: GroupService, client_ids: dict[str, int]
) -> None:
    """TASKS, with deadlines around today: overdue, today, this week, later; some
    started, some completed or awaiting approval. Through TaskService and TaskFlow,
    as the people who would do it; the staff who work on a client sit in its group."""
    people = {email.split(".")[0]: email for email, _name in STAFF}
    staff_names = set(people)
    people.update(
        admin=ADMIN[0],
        **{slug(s[4].split()[-1]): f"{slug(s[4], '.')}@{s[3]}" for s in STUDIOS},
    )

    def person(name: str) -> Actor:
        row = conn.execute("SELECT * FROM users WHERE email = ?", (people[name],)).fetchone()
        return actor_from_row(row)

    today = today_in_rome(clock)
    month = MESI[(today.month - 2) % 12]
    for line in TASKS.strip().splitlines():
        title, client, responsible, creator, days, options, verbs = (
            cell.strip() for cell in line.split("|")
        )
        flags = {o for o in options.split() if "=" not in o}
        values = dict(o.split("=", 1) for o in options.split() if "=" in o)
        deadline = None
        if days == "w":  # a weekday for the "this week" view, however late in the week
            sunday = today + timedelta(days=6 - today.weekday())
            day = min(today + timedelta(days=2), sunday)
            deadline = f"{day.isoformat()} {'23:59' if day == today else '18:00'}"
        elif days != "-":
            day = today + timedelta(days=int(days))
            deadline = f"{day.isoformat()} {'23:59' if days == '0' else '18:00'}"
        for staff in dict.fromkeys(n for n in (responsible, creator) if n in staff_names):
            if not conn.execute(
                "SELECT 1 FROM work_group_members WHERE client_id = ? AND user_id = ?",
                (client_ids[client], person(staff).id),
            ).fetchone():
                groups.add_member(client_ids[client], people[staff])
        owner = person(creator)
        task = TaskService(conn, clock, owner).add(
            TaskInput(
                title=title.format(mese=month),
                responsibles=[people[responsible]],
                client=client_ids[client],
                deadline=deadline,
                high_priority="high" in flags,
                approval_required="approval" in flags,
                responsible_sets_deadline="fixed" not in flags,
                planned=values.get("planned"),
                tags=values["tags"].split(",") if "tags" in values else [],
                participants=values["participants"].split(",") if "participants" in values else [],
                observers=values["observers"].split(",") if "observers" in values else [],
            )
        )[0]
        for verb in verbs.split():
            doer = owner if verb == "approve" else person(responsible)
            TaskFlow(conn, clock, doer).change(verb, [task["id"]])


def shifted_deadline(db_path: Path) -> list[str] | None:
    """The deadline moved the most (weekends, holidays, August): the one worth explaining."""
    conn = sqlite3.connect(db_path)
    try:
        row = conn.execute(
            "SELECT client_id, rule_id, period FROM deadlines WHERE shifts <> '[]'"
            " ORDER BY json_array_length(shifts) DESC, due_date, client_id, rule_id LIMIT 1"
        ).fetchone()
    finally:
        conn.close()
    return [str(row[0]), row[1], row[2]] if row else None


def sempi(args: list[str], env: dict[str, str], stdin: str | None = None) -> int:
    """Run the real command line in a child process (secrets on stdin, never argv)."""
    return subprocess.run(
        [sys.executable, "-m", "sempi_cli", *args], env=env, input=stdin, text=True, check=False
    ).returncode


def main(argv: list[str]) -> int:
    if argv == ["--examples"]:  # make docs: the practices' batch files of the demo
        for path in write_examples(random.Random(EXAMPLES_SEED)):
            print(f"wrote {path}", file=sys.stderr)
        return 0
    if len(argv) != 1:
        print("usage: python -m sempi_cli.demo DIR | --examples", file=sys.stderr)
        return 2
    directory = argv[0]
    db_path = Path(directory) / "sempi.db"
    if db_path.exists():
        print(f"sempi demo: {db_path} already exists; remove it first.", file=sys.stderr)
        return 4
    # The demo's firm speaks the default language (Italian) unless SEMPI_LANG says
    # otherwise, and so does this narrative around the commands it runs.
    i18n.use(i18n.from_environment() or i18n.DEFAULT)
    print(
        _("Building the demo store {path}: fictitious data, a public demo password...").format(
            path=db_path
        ),
        file=sys.stderr,
    )
    build(db_path, random.Random(2026))
    env = {k: v for k, v in os.environ.items() if k not in ("SEMPI_USER", "SEMPI_APP_PASSWORD")}
    env["SEMPI_DB"] = str(db_path)
    env.setdefault("SEMPI_HOME", directory)  # make demo sets it; never touch the real home
    code = sempi(["login", "--email", ADMIN[0], "--password-stdin"], env, DEMO_PASSWORD + "\n")
    # The main job: the nightly scheduler turns every client's fiscal profile into deadlines.
    for title, args in (
        (
            N_("The nightly job: sempi scheduler run --horizon 12m"),
            ["scheduler", "run", "--horizon", "12m"],
        ),
        (
            N_("The scadenzario: sempi scheduler list --limit 20"),
            ["scheduler", "list", "--limit", "20"],
        ),
    ):
        if code == 0:
            print(f"\n{_(title)}", file=sys.stderr, flush=True)
            code = sempi(args, env)
    explained = shifted_deadline(db_path)
    if code == 0 and explained:
        print(
            "\n" + _("Why that day: sempi scheduler explain {key}").format(key=" ".join(explained)),
            file=sys.stderr,
            flush=True,
        )
        code = sempi(["scheduler", "explain", *explained], env)
    # The staff user logs in with a home of her own, so the admin's session stays.
    staff_home = str(Path(directory) / DUE_USER.split("@")[0])
    staff_env = {**env, "SEMPI_HOME": staff_home}
    if code == 0:
        code = sempi(
            ["login", "--email", DUE_USER, "--password-stdin"], staff_env, DEMO_PASSWORD + "\n"
        )
    run = f"SEMPI_HOME={shlex.quote(directory)} .venv/bin/sempi"
    run_staff = (
        f"SEMPI_HOME={shlex.quote(staff_home)} SEMPI_DB={shlex.quote(str(db_path))} .venv/bin/sempi"
    )
    print(
        _(
            """
Demo store: {path}  (fictitious data; a DEMO password: never use this store for real work)
Logins, every user with the password {password}:
  {admin} (firm-admin, logged in now); staff: {staff}
  ({due_user} is logged in too, in {staff_home})
  paolo.rossi@studio-rossi.it, antonio.esposito@studioesposito.it (studio-admin)
  chiara.galli@studio-rossi.it (studio-operator), laura.bianchi@cliente.demo (external)
What to try next:
  {run} scheduler calendar
  {run} scheduler list --client 1 --format json
  {run} scheduler export --ics scadenze.ics --client 1
  {run} client list --studio 'Studio Esposito Commercialisti' --iva mensile
  {run} client show 1
  {run} group show 1
  {run} user list --role studio-operator
  {run} login --email chiara.galli@studio-rossi.it && {run} client list
  {run} task list --mine --sort priority
  {run} task show 1
  {run} task export --client 1
  {run_staff} task due   (as {due_user})"""
        ).format(
            path=db_path,
            password=DEMO_PASSWORD,
            admin=ADMIN[0],
            staff=", ".join(e for e, _name in STAFF),
            due_user=DUE_USER,
            staff_home=staff_home,
            run=run,
            run_staff=run_staff,
        ),
        file=sys.stderr,
    )
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
