"""The boundary between practices, and between the practices and their clients' own
users, on every `coupon`, `consent` and `smart` command: a table of probes, every
command x every person, each against the objects of the *other* practice or client.

A client or practice one may not see is "not found" (exit 3, never 8, which would
say it exists); one seen but not to be acted on is exit 8; a client's own user gets
exit 8 from every coupon command and every practice-wide consent command (documented
in docs/coupons.md and docs/consent.md: the same answer whichever client it names,
so it says nothing). Every refusal writes nothing and names nothing of the other
side. The right person succeeds, so the table cannot pass by refusing everything.
"""

from __future__ import annotations

import json

import pytest

from sempi_cli.services.consent.answers import AnswerService
from sempi_cli.services.consent.options import SmartOptions
from sempi_cli.services.coupons.migrate import CouponMigration
from sempi_cli.services.coupons.packages import CouponPackages
from tests.conftest import ADMIN_EMAIL, actor, cf_person, piva, store_digest
from tests.helpers import assert_one_line_error, ok

FIRM = ADMIN_EMAIL
STAFF_IN = "dentro@firm.test"  # firm staff, Alfa's responsible (in its work group)
STAFF_OUT = "fuori@firm.test"  # firm staff in no work group
ROSSI_ADMIN, ROSSI_OP = "titolare@rossi.test", "operatore@rossi.test"
VERDI_ADMIN, VERDI_OP = "titolare@verdi.test", "operatore@verdi.test"
ALFA_EXT, GAMMA_EXT = "mario@alfa.test", "luca@gamma.test"
PEOPLE = (
    FIRM,
    STAFF_IN,
    STAFF_OUT,
    ROSSI_ADMIN,
    ROSSI_OP,
    VERDI_ADMIN,
    VERDI_OP,
    ALFA_EXT,
    GAMMA_EXT,
)
CF = cf_person(1)
SMART = ["fattura-smart", "smart-hub"]


@pytest.fixture
def world(org, db, clock) -> dict:
    from datetime import date

    from sempi_cli.services.onboarding.input import Delegation
    from sempi_cli.services.onboarding.onboard import upsert_delegations
    from sempi_cli.store import write_transaction

    org.staff(STAFF_IN, STAFF_OUT)
    rossi, verdi = org.practice("Studio Rossi"), org.practice("Studio Verdi")
    org.user(ROSSI_ADMIN, role="studio-admin", studio=rossi)
    org.user(ROSSI_OP, role="studio-operator", studio=rossi)
    org.user(VERDI_ADMIN, role="studio-admin", studio=verdi)
    org.user(VERDI_OP, role="studio-operator", studio=verdi)
    common = {"conto_terzi": True, "smart_services": SMART}
    alfa = org.client("Alfa Srl", rossi, 1, responsible=STAFF_IN, email="info@alfa.test", **common)
    beta = org.client("Beta Srl", rossi, 2, email="info@beta.test", **common)
    gamma = org.client("Gamma Srl", verdi, 3, email="info@gamma.test", **common)
    org.group(alfa, ROSSI_OP)
    org.group(gamma, VERDI_OP)
    org.user(ALFA_EXT, role="external", client=alfa)
    org.user(GAMMA_EXT, role="external", client=gamma)
    packages = {}
    for studio, admin, client in ((rossi, ROSSI_ADMIN, alfa), (verdi, VERDI_ADMIN, gamma)):
        who = actor(db, admin)
        packages[studio] = CouponPackages(db, clock, who).add(
            studio, "migrazione", 10, date(2026, 12, 31)
        )["id"]
        CouponPackages(db, clock, who).add(studio, "rinnovo", 10, date(2027, 12, 31))
        CouponMigration(db, clock, who).migrate(
            [client], consultant_name="Mario", consultant_surname="Rossi", consultant_cf=CF
        )
        SmartOptions(db, clock, who).change(studio, enabled=True, operators=True)
    AnswerService(db, clock, actor(db, ALFA_EXT)).answer(alfa, "yes")
    AnswerService(db, clock, actor(db, GAMMA_EXT)).answer(gamma, "yes")
    with write_transaction(db):
        upsert_delegations(
            db,
            [
                (c, Delegation("cassetto_fiscale", f"REF-{c}", "2026-12-20"))
                for c in (alfa, beta, gamma)
            ],
            "t",
            None,
        )
    return {
        "rossi": rossi, "verdi": verdi, "alfa": alfa, "beta": beta, "gamma": gamma,
        "rossi_package": packages[rossi], "verdi_package": packages[verdi],
    }  # fmt: skip


# Who sees which clients (access.visible_clients), by the world's keys.
SEES = {
    FIRM: {"alfa", "beta", "gamma"},
    STAFF_IN: {"alfa"},
    STAFF_OUT: set(),
    ROSSI_ADMIN: {"alfa", "beta"},
    ROSSI_OP: {"alfa"},
    VERDI_ADMIN: {"gamma"},
    VERDI_OP: {"gamma"},
    ALFA_EXT: {"alfa"},
    GAMMA_EXT: {"gamma"},
}
# Each person's targets on the other side: a client they may not see, and a practice
# (of that client, else their own when the client is a neighbour in their practice).
TARGETS = [
    (STAFF_IN, "gamma", "verdi"),
    (STAFF_IN, "beta", "rossi"),
    (STAFF_OUT, "alfa", "rossi"),
    (ROSSI_ADMIN, "gamma", "verdi"),
    (ROSSI_OP, "gamma", "verdi"),
    (ROSSI_OP, "beta", "rossi"),
    (VERDI_ADMIN, "alfa", "rossi"),
    (VERDI_OP, "alfa", "rossi"),
    (ALFA_EXT, "gamma", "verdi"),
    (ALFA_EXT, "beta", "rossi"),
    (GAMMA_EXT, "alfa", "rossi"),
]
STUDIO_OF = {"alfa": "rossi", "beta": "rossi", "gamma": "verdi"}
EXTERNAL = {ALFA_EXT, GAMMA_EXT}
FIRM_USERS = {FIRM, STAFF_IN, STAFF_OUT}
PRACTICE_OF = {ROSSI_ADMIN: "rossi", ROSSI_OP: "rossi", VERDI_ADMIN: "verdi", VERDI_OP: "verdi"}
ADMIN_OF = {"rossi": ROSSI_ADMIN, "verdi": VERDI_ADMIN}
# What of a client must never show to someone who may not see it.
SECRETS = {
    "alfa": ("Alfa Srl", "info@alfa.test", piva(1)),
    "beta": ("Beta Srl", "info@beta.test", piva(2)),
    "gamma": ("Gamma Srl", "info@gamma.test", piva(3)),
}
CONSULTANT = ("--consultant-name", "Mario", "--consultant-surname", "Rossi", "--consultant-cf", CF)


def _usage_file(tmp_path, client: int, column: str = "client_id", value: str | None = None) -> str:
    path = tmp_path / f"usage-{column}-{client}.csv"
    path.write_text(f"{column};documents;contacts\n{value or client};12;3\n", encoding="utf-8")
    return str(path)


# command -> a function (world, client id, studio id, package id, tmp_path) giving its arguments
PROBES = {
    "coupon clients": lambda w, c, s, p, t: ["coupon", "clients", "--studio", str(s)],
    "coupon list": lambda w, c, s, p, t: ["coupon", "list", "--studio", str(s)],
    "coupon export": lambda w, c, s, p, t: ["coupon", "export", str(c)],
    "coupon open": lambda w, c, s, p, t: ["coupon", "open", str(c)],
    "coupon nickname": lambda w, c, s, p, t: ["coupon", "nickname", str(c), "Spia"],
    "coupon first-access": lambda w, c, s, p, t: ["coupon", "first-access", str(c)],
    "coupon usage set": lambda w, c, s, p, t: ["coupon", "usage", "set", str(c), "--documents", "7"],
    "coupon usage import (id)": lambda w, c, s, p, t: ["coupon", "usage", "import", _usage_file(t, c)],
    "coupon usage import (piva)": lambda w, c, s, p, t: [
        "coupon", "usage", "import", _usage_file(t, c, "partita_iva", w["piva"][c]),
    ],
    "coupon usage import --studio": lambda w, c, s, p, t: [
        "coupon", "usage", "import", _usage_file(t, c), "--studio", str(s),
    ],
    "coupon migrate": lambda w, c, s, p, t: ["coupon", "migrate", str(c), *CONSULTANT],
    "coupon migrate --dry-run": lambda w, c, s, p, t: [
        "coupon", "migrate", str(c), *CONSULTANT, "--dry-run",
    ],
    "coupon upgrade": lambda w, c, s, p, t: ["coupon", "upgrade", str(c), "--coupon", "migrazione"],
    "coupon upgrade --purchased": lambda w, c, s, p, t: ["coupon", "upgrade", str(c), "--purchased"],
    "coupon unlink": lambda w, c, s, p, t: ["coupon", "unlink", str(c)],
    "coupon renew": lambda w, c, s, p, t: [
        "coupon", "renew", "--studio", str(s), "--year", "2027", "--client", str(c),
    ],
    "coupon renew --all-active": lambda w, c, s, p, t: [
        "coupon", "renew", "--studio", str(s), "--year", "2027", "--all-active", "--dry-run",
    ],
    "coupon cancel": lambda w, c, s, p, t: [
        "coupon", "cancel", "--studio", str(s), "--package", str(p), "--pec-ref", "PEC-1",
        "--sent-on", "16/11/2026", "--next-year",
    ],
    "coupon check": lambda w, c, s, p, t: ["coupon", "check", "--studio", str(s)],
    "coupon add": lambda w, c, s, p, t: [
        "coupon", "add", "--studio", str(s), "--type", "migrazione", "--count", "1",
        "--valid-until", "31/12/2027",
    ],
    "consent settings": lambda w, c, s, p, t: ["consent", "settings", "--studio", str(s)],
    "consent settings --disable": lambda w, c, s, p, t: [
        "consent", "settings", "--studio", str(s), "--disable",
    ],
    "consent request --client": lambda w, c, s, p, t: ["consent", "request", "--client", str(c)],
    "consent request --all": lambda w, c, s, p, t: [
        "consent", "request", "--studio", str(s), "--all",
    ],
    "consent list": lambda w, c, s, p, t: ["consent", "list", "--studio", str(s)],
    "consent list --client": lambda w, c, s, p, t: [
        "consent", "list", "--studio", str(s), "--client", str(c),
    ],
    "consent answer": lambda w, c, s, p, t: ["consent", "answer", str(c), "no"],
    "consent answer --on-behalf": lambda w, c, s, p, t: [
        "consent", "answer", str(c), "no", "--on-behalf", "--channel", "phone",
        "--evidence", _evidence(t),
    ],
    "consent history": lambda w, c, s, p, t: ["consent", "history", str(c)],
    "consent verify": lambda w, c, s, p, t: ["consent", "verify"],
    "consent check (self)": lambda w, c, s, p, t: [
        "consent", "check", "--user", w["me"], "--client", str(c),
    ],
    "consent check (other's user)": lambda w, c, s, p, t: [
        "consent", "check", "--user", w["subject"], "--client", str(c),
    ],
    "consent delegations": lambda w, c, s, p, t: ["consent", "delegations", "--studio", str(s)],
    "smart list": lambda w, c, s, p, t: ["smart", "list"],
    "smart open": lambda w, c, s, p, t: ["smart", "open", str(c)],
    "smart open SERVICE": lambda w, c, s, p, t: ["smart", "open", str(c), "fattura-smart"],
}  # fmt: skip


def _evidence(tmp_path) -> str:
    path = tmp_path / "pec-revoca.eml"
    path.write_text("Revoco il consenso.\n", encoding="utf-8")
    return str(path)


def _args(world, command, who, tmp_path, client_key, studio_key, subject=None) -> list[str]:
    """The command's arguments aimed at ``client_key`` and ``studio_key`` (and its
    packages); ``consent check`` asks about ``who`` or else ``subject`` (by default
    the administrator of the client's practice)."""
    c, s = world[client_key], world[studio_key]
    p = world[f"{studio_key}_package"]
    w = {
        **world,
        "me": who,
        "subject": subject or ADMIN_OF[STUDIO_OF[client_key]],
        "piva": {world[k]: SECRETS[k][2] for k in SECRETS},
    }
    return PROBES[command](w, c, s, p, tmp_path)


# --- the table: what each probe must answer -------------------------------------------

CLIENT_COMMANDS = {  # aimed at one client, by its id
    "coupon export", "coupon open", "coupon nickname", "coupon first-access", "coupon usage set",
    "coupon migrate", "coupon migrate --dry-run", "coupon upgrade", "coupon upgrade --purchased",
    "coupon unlink", "consent answer", "consent answer --on-behalf", "consent history",
    "consent check (self)", "smart open", "smart open SERVICE",
}  # fmt: skip
STUDIO_READS = {  # a practice's data, read
    "coupon clients", "coupon list", "consent settings", "consent list", "consent list --client",
    "consent delegations",
}  # fmt: skip
STUDIO_WRITES = {  # a practice's decisions: its administrator's or a firm administrator's
    "coupon add", "coupon cancel", "coupon check", "coupon renew", "coupon renew --all-active",
    "consent settings --disable", "consent request --all", "consent request --client",
}  # fmt: skip
USAGE_IMPORTS = {"coupon usage import (id)", "coupon usage import (piva)"}


def sees_studio(who: str, studio_key: str) -> bool:
    return who in FIRM_USERS or PRACTICE_OF.get(who) == studio_key


def expected(command: str, who: str, studio_key: str) -> int:
    """The exit code of ``command`` by ``who`` aimed at a client they may not see (and
    ``studio_key``): 3 where what is named is out of sight, 8 where it is in sight
    but the act is not theirs, and 8 for a client's own user on the practice's data
    (docs/coupons.md, docs/consent.md: the same answer whatever it names)."""
    external = who in EXTERNAL
    coupon = command.startswith("coupon")
    if command == "consent verify":
        return 8  # firm administrators only, whatever the record holds
    if command == "smart list":
        return 0  # a listing: what it lists is checked by test_what_each_listing_shows
    if command.startswith("consent request"):
        # Who may send is asked first, before any practice or client is looked up (the
        # same 8 for one that does not exist: test_refusals_that_name_nothing); an
        # administrator of the other practice does not see it.
        return 3 if who in (ROSSI_ADMIN, VERDI_ADMIN) else 8
    if external and (coupon or command in STUDIO_WRITES):
        return 8
    if command in CLIENT_COMMANDS:
        return 3
    if command in USAGE_IMPORTS:
        return 6  # the row's client is not found among those one sees
    if command == "coupon usage import --studio":
        return 6 if sees_studio(who, studio_key) else 3
    if command == "consent check (other's user)":
        # Another practice's administrator is not in a practice user's or a client's
        # user's directory (3); firm staff see them, but only administrators ask (8).
        return 8 if who in FIRM_USERS or PRACTICE_OF.get(who) == studio_key else 3
    if command in STUDIO_READS:
        if external:
            return 3 if command == "consent delegations" else 8
        return 0 if sees_studio(who, studio_key) else 3
    if command in STUDIO_WRITES:
        return 8 if sees_studio(who, studio_key) else 3
    raise AssertionError(f"no expectation for {command}")


def _audit_rows(db) -> list[tuple]:
    return [tuple(r) for r in db.execute("SELECT id, action, details FROM audit_log ORDER BY id")]


def _unseen_secrets(who: str, args: list[str], tmp_path) -> list[str]:
    """What of the clients ``who`` may not see must not appear (less what the probe
    itself typed, which any command may echo)."""
    typed = " ".join(args) + "".join(p.read_text() for p in tmp_path.glob("*.csv"))
    return [
        secret
        for key, secrets in SECRETS.items()
        if key not in SEES[who]
        for secret in secrets
        if secret not in typed
    ]


def assert_refused_quietly(
    result, code, before, before_audit, store_path, db, secrets, *, report=False
):
    """Exit ``code`` in one line on stderr, no traceback; nothing written but the audit
    log's one 'denied' row for a refusal of permission; nothing unseen named. With
    ``report`` (a bulk import on a terminal) the line may follow the table of rows."""
    assert result.exit_code == code, (code, result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    if code:
        lines = result.stderr.strip().splitlines()
        assert lines and lines[-1].startswith("Error: "), result.stderr
        assert report or len(lines) == 1, result.stderr
    assert store_digest(store_path, ignore=("audit_log",)) == before
    added = _audit_rows(db)[len(before_audit) :]
    assert [row[1] for row in added] == (["denied"] if code == 8 else []), added
    shown = result.stdout + result.stderr + "".join(str(row[2]) for row in added)
    leaked = [secret for secret in secrets if secret in shown]
    assert not leaked, (leaked, shown)


def _probe(cli, db, store_path, tmp_path, args, who, code, *, output="json", label=""):
    """Run ``args`` as ``who`` and hold it to the documented refusal ``code``: nothing
    written, nothing of the other side named (assert_refused_quietly)."""
    before = store_digest(store_path, ignore=("audit_log",))
    before_audit = _audit_rows(db)
    result = cli("--format", output, *args, as_user=who)
    try:
        assert_refused_quietly(
            result, code, before, before_audit, store_path, db,
            _unseen_secrets(who, args, tmp_path),
            report=output == "table" and "import" in args,
        )  # fmt: skip
    except AssertionError as problem:
        raise AssertionError(f"{label}: {problem}") from None
    return result


@pytest.mark.parametrize("output", ["json", "table"])
@pytest.mark.parametrize("command", list(PROBES))
def test_every_probe_across_the_boundary(cli, world, db, store_path, tmp_path, command, output):
    """Each person, aimed at a client (and practice) of the other side: the documented
    refusal, nothing written, nothing of the other side named (in JSON, and as a
    person at a terminal reads it)."""
    for who, client_key, studio_key in TARGETS:
        args = _args(world, command, who, tmp_path, client_key, studio_key)
        code = expected(command, who, studio_key)
        result = _probe(
            cli, db, store_path, tmp_path, args, who, code, output=output,
            label=f"{command} by {who} on {client_key}",
        )  # fmt: skip
        if code == 3:
            assert "not found" in result.stderr


# --- the right person succeeds: the table cannot pass by refusing everything ----------

# command -> (who, client, practice, whom `consent check` asks about)
RIGHT = {
    "coupon clients": (ROSSI_OP, "alfa", "rossi", None),
    "coupon list": (ROSSI_OP, "alfa", "rossi", None),
    "coupon export": (ROSSI_OP, "alfa", "rossi", None),
    "coupon open": (STAFF_IN, "alfa", "rossi", None),
    "coupon nickname": (ROSSI_OP, "alfa", "rossi", None),
    "coupon first-access": (STAFF_IN, "alfa", "rossi", None),
    "coupon usage set": (ROSSI_OP, "alfa", "rossi", None),
    "coupon usage import (id)": (ROSSI_OP, "alfa", "rossi", None),
    "coupon usage import (piva)": (STAFF_IN, "alfa", "rossi", None),
    "coupon usage import --studio": (VERDI_OP, "gamma", "verdi", None),
    "coupon migrate": (ROSSI_ADMIN, "beta", "rossi", None),
    "coupon migrate --dry-run": (FIRM, "beta", "rossi", None),
    "coupon upgrade": (ROSSI_ADMIN, "alfa", "rossi", None),
    "coupon upgrade --purchased": (VERDI_ADMIN, "gamma", "verdi", None),
    "coupon unlink": (ROSSI_ADMIN, "alfa", "rossi", None),
    "coupon renew": (VERDI_ADMIN, "gamma", "verdi", None),
    "coupon renew --all-active": (ROSSI_ADMIN, "alfa", "rossi", None),
    "coupon cancel": (ROSSI_ADMIN, "alfa", "rossi", None),
    "coupon check": (VERDI_ADMIN, "gamma", "verdi", None),
    "coupon add": (ROSSI_ADMIN, "alfa", "rossi", None),
    "consent settings": (ROSSI_OP, "alfa", "rossi", None),
    "consent settings --disable": (VERDI_ADMIN, "gamma", "verdi", None),
    "consent request --client": (ROSSI_ADMIN, "beta", "rossi", None),
    "consent request --all": (FIRM, "beta", "rossi", None),
    "consent list": (VERDI_OP, "gamma", "verdi", None),
    "consent list --client": (STAFF_IN, "alfa", "rossi", None),
    "consent answer": (ALFA_EXT, "alfa", "rossi", None),
    "consent answer --on-behalf": (ROSSI_OP, "alfa", "rossi", None),
    "consent history": (GAMMA_EXT, "gamma", "verdi", None),
    "consent verify": (FIRM, "alfa", "rossi", None),
    "consent check (self)": (ROSSI_OP, "alfa", "rossi", None),
    "consent check (other's user)": (ROSSI_ADMIN, "alfa", "rossi", ROSSI_OP),
    "consent delegations": (VERDI_OP, "gamma", "verdi", None),
    "smart list": (STAFF_IN, "alfa", "rossi", None),
    "smart open": (ROSSI_OP, "alfa", "rossi", None),
    "smart open SERVICE": (VERDI_OP, "gamma", "verdi", None),
}


def test_every_command_has_its_right_person():
    assert set(RIGHT) == set(PROBES)


@pytest.mark.parametrize("command", list(PROBES))
def test_the_right_person_succeeds(cli, world, tmp_path, command):
    who, client_key, studio_key, subject = RIGHT[command]
    args = _args(world, command, who, tmp_path, client_key, studio_key, subject)
    result = cli("--format", "json", *args, as_user=who)
    assert result.exit_code == 0, (command, who, result.stdout, result.stderr)
    shown = result.stdout + result.stderr
    assert not [s for s in _unseen_secrets(who, args, tmp_path) if s in shown], shown


# --- seen, but not theirs to do: exit 8, nothing written --------------------------------

# Alfa (Rossi) is in sight of its operator, of the firm staff in its work group and of
# its own user; none of them spends coupons or decides for the practice.
NOT_THEIRS = [
    "coupon migrate", "coupon migrate --dry-run", "coupon upgrade", "coupon upgrade --purchased",
    "coupon unlink", "coupon renew", "coupon renew --all-active", "coupon cancel",
    "coupon check", "coupon add", "consent settings --disable", "consent request --client",
    "consent request --all", "consent verify",
]  # fmt: skip
# A client's own user, on its own client: no coupon at all, no practice data, and the
# client reaches its SMART services directly; it answers for itself, not on its behalf.
NOT_THE_CLIENTS = [c for c in PROBES if c.startswith("coupon")] + [
    "consent settings", "consent settings --disable", "consent list", "consent list --client",
    "consent request --client", "consent request --all", "consent verify",
    "consent answer --on-behalf", "smart open", "smart open SERVICE",
]  # fmt: skip


@pytest.mark.parametrize(
    ("who", "commands"),
    [(ROSSI_OP, NOT_THEIRS), (STAFF_IN, NOT_THEIRS), (ALFA_EXT, NOT_THE_CLIENTS)],
    ids=["operator", "firm staff", "client's user"],
)
def test_seen_but_not_theirs_is_permission_denied(
    cli, world, db, store_path, tmp_path, who, commands
):
    for command in commands:
        args = _args(world, command, who, tmp_path, "alfa", "rossi")
        _probe(cli, db, store_path, tmp_path, args, who, 8, label=f"{command} by {who}")


@pytest.mark.parametrize("command", [c for c in PROBES if c in CLIENT_COMMANDS])
def test_a_clients_user_gets_one_answer_whatever_client_it_names(cli, world, tmp_path, command):
    """Its own client, another practice's, a neighbour of its practice, one that does
    not exist: the same exit code and the same words, so the answer says nothing of
    which clients exist (coupon commands: 8; consent and smart: 3 for any other client)."""
    answers = {}
    for key in ("gamma", "beta", "nobody"):
        world_ = {**world, "nobody": 99999999}
        args = _args(world_, command, ALFA_EXT, tmp_path, key, "rossi", ROSSI_ADMIN)
        result = cli("--format", "json", *args, as_user=ALFA_EXT)
        answers[key] = (result.exit_code, result.stderr.replace(str(world_[key]), "N"))
    assert answers["gamma"] == answers["beta"] == answers["nobody"], answers
    if command.startswith("coupon"):
        own = cli("--format", "json", *_args(world, command, ALFA_EXT, tmp_path, "alfa", "rossi"),
                  as_user=ALFA_EXT)  # fmt: skip
        assert (own.exit_code, own.stderr) == answers["gamma"]


@pytest.mark.parametrize(
    ("who", "args"),
    [
        (ROSSI_OP, ["consent", "request", "--studio", "99999999", "--all"]),
        (STAFF_OUT, ["consent", "request", "--client", "99999999"]),
        (STAFF_IN, ["coupon", "renew", "--studio", "1", "--year", "2027", "--client", "99999999"]),
        (ALFA_EXT, ["coupon", "clients", "--studio", "99999999"]),
        (ALFA_EXT, ["coupon", "export", "99999999"]),
        (ALFA_EXT, ["consent", "list", "--studio", "99999999"]),
        (ALFA_EXT, ["consent", "settings", "--studio", "99999999"]),
        (GAMMA_EXT, ["coupon", "usage", "set", "99999999", "--documents", "1"]),
    ],
)
def test_refusals_that_name_nothing(cli, world, who, args):
    """Where the act is refused before anything is looked up, a practice or client
    that does not exist gets the same 8 as one that does: 8 tells nothing."""
    result = cli(*args, as_user=who)
    assert result.exit_code == 8, result.stderr
    assert "99999999" not in result.stderr


# --- listings: exactly the rows one may see ---------------------------------------------

CONSENTED = {"alfa", "gamma"}  # Beta has SMART services but never answered


def _ids(world, keys) -> set[int]:
    return {world[k] for k in keys}


def _listed(cli, who, *args) -> tuple[int, set[int] | None]:
    result = cli("--format", "json", *args, as_user=who)
    if result.exit_code:
        assert_one_line_error(result, result.exit_code)
        return result.exit_code, None
    return 0, {row["client_id"] for row in json.loads(result.stdout)}


@pytest.mark.parametrize("who", PEOPLE)
def test_what_each_listing_shows(cli, world, who):
    """coupon clients, consent list and consent delegations per practice; smart list;
    consent delegations over every practice: the exact client ids each person sees."""
    sees = SEES[who]
    for studio_key in ("rossi", "verdi"):
        studio = str(world[studio_key])
        of_studio = {k for k in sees if STUDIO_OF[k] == studio_key}
        if who in EXTERNAL:
            want: tuple = (8, None)
        elif sees_studio(who, studio_key):
            want = (0, _ids(world, of_studio))
        else:
            want = (3, None)
        for args in (("coupon", "clients"), ("consent", "list")):
            assert _listed(cli, who, *args, "--studio", studio) == want, (args, studio_key)
        delegations = _listed(cli, who, "consent", "delegations", "--studio", studio)
        assert delegations == (want if who not in EXTERNAL else (3, None)), studio_key
    # Over every practice: a client's own user sees its own client's delegations.
    assert _listed(cli, who, "consent", "delegations") == (0, _ids(world, sees))
    reach = set() if who in EXTERNAL else sees & CONSENTED
    assert _listed(cli, who, "smart", "list") == (0, _ids(world, reach))


@pytest.mark.parametrize("who", PEOPLE)
def test_what_each_person_exports(cli, world, who):
    """coupon export of each client: the ones in sight (Beta, never migrated, too: its
    record has no account); the others not found; a client's own user nothing."""
    for key in ("alfa", "beta", "gamma"):
        result = cli("--format", "json", "coupon", "export", str(world[key]), as_user=who)
        if who in EXTERNAL:
            assert_one_line_error(result, 8, "client's user")
        elif key in SEES[who]:
            assert json.loads(ok(result).stdout)["client"]["id"] == world[key]
        else:
            assert_one_line_error(result, 3, f"client {world[key]} not found")


@pytest.mark.parametrize("who", [w for w in PEOPLE if w not in EXTERNAL])
def test_the_packages_each_person_lists(cli, world, db, who):
    """coupon list: a practice's packages, for whoever sees the practice."""
    for studio_key in ("rossi", "verdi"):
        studio = world[studio_key]
        result = cli("--format", "json", "coupon", "list", "--studio", str(studio), as_user=who)
        if sees_studio(who, studio_key):
            ids = {row[0] for row in db.execute(
                "SELECT id FROM coupon_packages WHERE studio_id = ?", (studio,))}  # fmt: skip
            assert {row["id"] for row in json.loads(ok(result).stdout)} == ids
        else:
            assert_one_line_error(result, 3, "not found")


def test_a_filter_on_a_client_out_of_sight_lists_nothing(cli, world):
    """consent list --client of another practice's client, or of one that does not
    exist: an empty grid, the same for both."""
    for client in (world["gamma"], 99999999):
        result = cli("--format", "json", "consent", "list", "--studio", str(world["rossi"]),
                     "--client", str(client), as_user=ROSSI_ADMIN)  # fmt: skip
        assert json.loads(ok(result).stdout) == []


# --- bad ids: one line, a documented exit code, never a traceback ------------------------

BAD_IDS = ["0", "-1", "99999999", str(10**30), "abc"]
# Each command that takes an id, with {} where the id goes.
ID_COMMANDS = [
    ("coupon", "export", "{}"),
    ("coupon", "open", "{}"),
    ("coupon", "nickname", "{}", "x"),
    ("coupon", "first-access", "{}"),
    ("coupon", "usage", "set", "{}", "--documents", "1"),
    ("coupon", "migrate", "{}", *CONSULTANT),
    ("coupon", "upgrade", "{}", "--purchased"),
    ("coupon", "unlink", "{}"),
    ("coupon", "renew", "--studio", "1", "--year", "2027", "--client", "{}"),
    ("coupon", "cancel", "--studio", "1", "--package", "{}", "--pec-ref", "P",
     "--sent-on", "16/11/2026"),
    ("coupon", "clients", "--studio", "{}"),
    ("coupon", "list", "--studio", "{}"),
    ("coupon", "check", "--studio", "{}"),
    ("coupon", "add", "--studio", "{}", "--type", "migrazione", "--count", "1",
     "--valid-until", "31/12/2027"),
    ("coupon", "usage", "import", "FILE", "--studio", "{}"),
    ("coupon", "usage", "import", "ID_FILE"),
    ("consent", "settings", "--studio", "{}"),
    ("consent", "settings", "--studio", "{}", "--enable"),
    ("consent", "request", "--client", "{}"),
    ("consent", "request", "--studio", "{}", "--all"),
    ("consent", "list", "--studio", "{}"),
    ("consent", "list", "--studio", "1", "--client", "{}"),
    ("consent", "answer", "{}", "yes"),
    ("consent", "answer", "1", "no", "--on-behalf", "--channel", "pec", "--evidence", "{}"),
    ("consent", "history", "{}"),
    ("consent", "check", "--user", ADMIN_EMAIL, "--client", "{}"),
    ("consent", "check", "--user", "{}", "--client", "1"),
    ("consent", "delegations", "--studio", "{}"),
    ("smart", "open", "{}"),
    ("smart", "open", "{}", "fattura-smart"),
]  # fmt: skip


@pytest.mark.parametrize("command", ID_COMMANDS, ids=lambda c: " ".join(c[:3]))
def test_bad_ids(cli, world, store_path, tmp_path, command):
    usage = tmp_path / "utilizzo.csv"
    usage.write_text(f"partita_iva;documents\n{piva(1)};1\n", encoding="utf-8")
    for bad in BAD_IDS:
        by_id = tmp_path / "per-id.csv"
        by_id.write_text(f"client_id;documents\n{bad};1\n", encoding="utf-8")
        files = {"FILE": str(usage), "ID_FILE": str(by_id)}
        args = [files.get(word, word.replace("{}", bad)) for word in command]
        before = store_digest(store_path, ignore=("audit_log",))
        result = cli("--format", "json", *args)
        if command[:2] == ("consent", "list") and "--client" in command and bad == "99999999":
            # A filter: a client that might exist, but is not in sight, lists nothing.
            assert (result.exit_code, json.loads(result.stdout)) == (0, [])
            continue
        try:
            line = assert_one_line_error(result, result.exit_code)
            assert result.exit_code in (2, 3, 6), line
        except AssertionError as problem:
            raise AssertionError(f"{' '.join(args)}: {problem}") from None
        assert store_digest(store_path, ignore=("audit_log",)) == before


# --- one's own practice, the other side's objects -------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        (
            "coupon",
            "cancel",
            "--studio",
            "{rossi}",
            "--package",
            "{verdi_package}",
            "--pec-ref",
            "PEC-1",
            "--sent-on",
            "16/11/2026",
            "--next-year",
        ),
        (
            "coupon",
            "renew",
            "--studio",
            "{rossi}",
            "--year",
            "2027",
            "--client",
            "{alfa}",
            "--client",
            "{gamma}",
            "--partial",
        ),
        ("coupon", "migrate", "{beta}", "{gamma}", *CONSULTANT),
        (
            "consent",
            "request",
            "--studio",
            "{rossi}",
            "--client",
            "{beta}",
            "--client",
            "{gamma}",
            "--partial",
        ),
        (
            "consent",
            "answer",
            "{gamma}",
            "no",
            "--on-behalf",
            "--channel",
            "pec",
            "--evidence",
            "{gamma_document}",
        ),
    ],  # fmt: skip
    ids=["cancel", "renew", "migrate", "request", "answer"],
)
def test_the_other_practices_objects_from_ones_own(cli, world, db, store_path, tmp_path, command):
    """Rossi's administrator names, with Rossi's practice or beside Rossi's clients,
    Verdi's package or client: not found, as one that does not exist; nothing done,
    not even for Rossi's own (all or nothing, --partial included)."""
    ok(cli("consent", "answer", str(world["gamma"]), "no", "--on-behalf", "--channel", "pec",
           "--evidence", _evidence(tmp_path)))  # fmt: skip
    document = db.execute("SELECT max(id) FROM documents").fetchone()[0]
    names = {**{k: str(v) for k, v in world.items()}, "gamma_document": str(document)}
    args = [word.format(**names) for word in command]
    before = store_digest(store_path, ignore=("audit_log",))
    result = cli("--format", "json", *args, as_user=ROSSI_ADMIN)
    assert_refused_quietly(
        result, 3, before, _audit_rows(db), store_path, db,
        _unseen_secrets(ROSSI_ADMIN, args, tmp_path),
    )  # fmt: skip


def test_evidence_of_another_clients_document_is_no_document(cli, world, db, tmp_path):
    """A document of Gamma given as the evidence of Alfa's answer: the same refusal as
    a document that does not exist, for everyone (the firm administrator too: the
    evidence must be the client's own)."""
    ok(cli("consent", "answer", str(world["gamma"]), "no", "--on-behalf", "--channel", "pec",
           "--evidence", _evidence(tmp_path)))  # fmt: skip
    gamma_doc = db.execute("SELECT max(id) FROM documents").fetchone()[0]
    for who in (ROSSI_ADMIN, FIRM):
        lines = set()
        for document in (gamma_doc, 99999999):
            result = cli("consent", "answer", str(world["alfa"]), "no", "--on-behalf",
                         "--channel", "pec", "--evidence", str(document), as_user=who)  # fmt: skip
            line = assert_one_line_error(result, 6, "--evidence", f"client {world['alfa']}")
            lines.add(line.replace(f"document {document}", "document N"))
        assert len(lines) == 1, lines


def test_a_partita_iva_of_two_practices_is_the_one_in_sight(cli, world, org, db, clock, tmp_path):
    """Delta, a client of Verdi with Alfa's partita IVA and a coupon account: Rossi's
    people importing that partita IVA reach Alfa, and are never told another client
    has it (nor its id)."""
    delta = org.client("Delta Srl", world["verdi"], 1, conto_terzi=True, email="info@delta.test")
    CouponMigration(db, clock, actor(db, VERDI_ADMIN)).migrate(
        [delta], consultant_name="Mario", consultant_surname="Rossi", consultant_cf=CF
    )
    for who in (ROSSI_ADMIN, ROSSI_OP, STAFF_IN):
        path = tmp_path / "u.csv"
        path.write_text(f"partita_iva;documents\n{piva(1)};{len(who)}\n", encoding="utf-8")
        result = cli("--format", "json", "coupon", "usage", "import", str(path), as_user=who)
        assert json.loads(ok(result).stdout)["updated"] == 1, result.stderr
        assert "Delta" not in result.stdout + result.stderr
        assert str(delta) not in result.stderr
        documents = db.execute(
            "SELECT client_id FROM coupon_accounts WHERE documents = ?", (len(who),)
        ).fetchall()
        assert [row[0] for row in documents] == [world["alfa"]]
    # Verdi's operator does not see Delta (not in its work group): no client, not "two".
    path.write_text(f"partita_iva;documents\n{piva(1)};5\n", encoding="utf-8")
    result = cli("--format", "json", "coupon", "usage", "import", str(path), as_user=VERDI_OP)
    assert_one_line_error(result, 6, "no client with this partita IVA")


def test_nobody_is_told_of_a_client_out_of_sight(cli, world, db, tmp_path):
    """The notices the coupon and consent commands leave (licences expiring, usage at
    80 %, a consent revoked, a request sent): each person's inbox names only clients
    they see. A practice administrator's `coupon check` tells only their practice."""
    for key in ("alfa", "gamma"):
        ok(cli("coupon", "usage", "set", str(world[key]), "--documents", "2900"))
    ok(cli("consent", "answer", str(world["alfa"]), "no", as_user=ALFA_EXT))
    ok(cli("consent", "answer", str(world["gamma"]), "no", "--on-behalf", "--channel", "pec",
           "--evidence", _evidence(tmp_path)))  # fmt: skip
    ok(cli("consent", "request", "--studio", str(world["rossi"]), "--all", as_user=ROSSI_ADMIN))
    ok(cli("coupon", "check", as_user=ROSSI_ADMIN))
    verdi_admin = json.loads(ok(cli("notify", "list", "--json", as_user=VERDI_ADMIN)).stdout)
    assert not [n for n in verdi_admin if n["kind"] == "coupon"], verdi_admin
    ok(cli("coupon", "check"))
    for who in PEOPLE:
        inbox = ok(cli("notify", "list", "--json", as_user=who)).stdout
        leaked = [s for s in _unseen_secrets(who, [], tmp_path) if s in inbox]
        assert not leaked, (who, leaked, inbox)


def test_a_membership_across_the_boundary_opens_nothing(cli, world, db, store_path, tmp_path):
    """Verdi's operator and Gamma's user put in Alfa's work group behind the tool's
    back (a row written to the file, or left from before the rule): every probe on
    Alfa still answers as for a client out of sight, and no listing shows Alfa."""
    for email in (VERDI_OP, GAMMA_EXT):
        db.execute(
            "INSERT INTO work_group_members (client_id, user_id, added_at)"
            " SELECT ?, id, '2026-11-01T00:00:00+00:00' FROM users WHERE email = ?",
            (world["alfa"], email),
        )
    for command in PROBES:
        for who in (VERDI_OP, GAMMA_EXT):
            args = _args(world, command, who, tmp_path, "alfa", "rossi")
            code = expected(command, who, "rossi")
            _probe(cli, db, store_path, tmp_path, args, who, code, label=f"{command} by {who}")
    for who in (VERDI_OP, GAMMA_EXT):
        assert _listed(cli, who, "consent", "delegations") == (0, {world["gamma"]})
        reach = set() if who == GAMMA_EXT else {world["gamma"]}
        assert _listed(cli, who, "smart", "list") == (0, reach)
    assert _listed(cli, VERDI_OP, "coupon", "clients", "--studio", str(world["verdi"])) == (
        0,
        {world["gamma"]},
    )


@pytest.mark.parametrize("responsible", [VERDI_OP, GAMMA_EXT, STAFF_OUT])
def test_a_responsible_out_of_sight_is_told_nothing(cli, world, db, responsible):
    """Alfa's responsible written behind the tool's back (another practice's operator,
    another client's user) or left out of its work group: usage at 80 % and a consent
    revoked tell them nothing (the notice names the client: it would leak), as the
    delegations watch does; the usage mark stays, so a responsible in sight is told
    later. Rossi's administrator is told as ever."""
    db.execute(
        "UPDATE clients SET responsible_id = (SELECT id FROM users WHERE email = ?) WHERE id = ?",
        (responsible, world["alfa"]),
    )
    db.execute(
        "DELETE FROM work_group_members WHERE client_id = ?"
        " AND user_id = (SELECT id FROM users WHERE email = ?)",
        (world["alfa"], STAFF_OUT),
    )
    told = json.loads(ok(cli("--format", "json", "coupon", "usage", "set", str(world["alfa"]),
                             "--documents", "2900")).stdout)  # fmt: skip
    assert told["documents_pct"] == 96
    ok(cli("consent", "answer", str(world["alfa"]), "no", as_user=ALFA_EXT))
    inbox = ok(cli("notify", "list", "--json", as_user=responsible)).stdout
    assert "Alfa" not in inbox, inbox
    admin = ok(cli("notify", "list", "--json", as_user=ROSSI_ADMIN)).stdout
    assert "Alfa Srl (client 1) revoked its consent" in admin
    # In sight again (the responsible is Rossi's operator, in the group): told now.
    db.execute(
        "UPDATE clients SET responsible_id = (SELECT id FROM users WHERE email = ?) WHERE id = ?",
        (ROSSI_OP, world["alfa"]),
    )
    ok(cli("coupon", "usage", "set", str(world["alfa"]), "--documents", "2901"))
    assert (
        "Alfa Srl: documents at 80%" in ok(cli("notify", "list", "--json", as_user=ROSSI_OP)).stdout
    )
