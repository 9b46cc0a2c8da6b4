"""Helpers the test modules share (fixtures are in conftest.py).

A test module imports from here and from conftest.py, never from another test module.
"""

from __future__ import annotations

import email
import email.policy
import json as jsonlib
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pyotp

from tests.conftest import ADMIN_EMAIL, actor, piva, register_secret

SEMPI = str(Path(sys.executable).parent / "sempi")  # the installed command, for real processes

# --- what a command returned ---------------------------------------------------------


def ok(result, *, json: bool = False):
    """The command succeeded (exit code 0). Returns the result, or with ``json=True``
    its standard output parsed as JSON (None when the command printed nothing)."""
    assert result.exit_code == 0, (result.stdout, result.stderr)
    if not json:
        return result
    return jsonlib.loads(result.stdout) if result.stdout.strip() else None


def data(result):
    """The command succeeded and printed JSON: the parsed output (nothing is not JSON)."""
    return jsonlib.loads(ok(result).stdout)


def assert_one_line_error(result, code: int, *fragments: str) -> str:
    """The command failed with exit code ``code`` and said why in exactly one line on
    stderr, starting with "Error: " and containing every one of ``fragments``; no
    traceback anywhere. Returns that line. Takes an in-process result (``exit_code``)
    or a finished subprocess (``returncode``)."""
    exit_code = result.exit_code if hasattr(result, "exit_code") else result.returncode
    assert exit_code == code, (exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("Error: "), line
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


# --- a firm to test in: the `org` and `people` fixtures of conftest.py -------------------


class Org:
    """Builds a firm through the services, as the firm administrator: staff,
    practices, practice users, clients, work groups, external users. Each call
    writes at once, in the order made, so ids follow the order of the calls."""

    def __init__(self, db: sqlite3.Connection, clock) -> None:
        self.db, self.clock = db, clock
        self.admin = actor(db, ADMIN_EMAIL)

    def user(self, email: str, name: str | None = None, role: str = "staff", **kw) -> dict:
        """A user (``studio=`` for a practice user, ``client=`` for an external one);
        the name defaults to the e-mail's local part ("doer@..." is "Doer")."""
        from sempi_cli.services.org.users import UserService

        name = name or email.split("@")[0].title()
        return UserService(self.db, self.clock, self.admin).add(email, name, role, **kw)

    def staff(self, *emails: str) -> None:
        """Firm staff members, named after their e-mails."""
        for address in emails:
            self.user(address)

    def practice(self, name: str, **kw) -> int:
        from sempi_cli.services.org.studios import StudioService

        return StudioService(self.db, self.clock, self.admin).add(name, **kw)["id"]

    def client(self, name: str, practice: int, n: int, **fields) -> int:
        """A client of ``practice`` with partita IVA piva(n); ``fields`` go to ClientInput
        (``responsible=``, ``fiscal_profile=``...)."""
        from sempi_cli.services.clients.clients import ClientService
        from sempi_cli.services.clients.input import ClientInput

        data = ClientInput(name, studio=practice, partita_iva=piva(n), **fields)
        return ClientService(self.db, self.clock, self.admin).add(data)["id"]

    def group(self, client: int, *users: str) -> None:
        """Users join the client's work group."""
        from sempi_cli.services.org.groups import GroupService

        groups = GroupService(self.db, self.clock, self.admin)
        for user in users:
            groups.add_member(client, user)


# The people of the task tests (tasks, checklists, documents, timers, transfer).
CREATOR, DOER, HELPER, WATCHER, OUTSIDER = (
    "creator@sempi.test",
    "doer@sempi.test",
    "helper@sempi.test",
    "watcher@sempi.test",
    "outsider@sempi.test",
)
OPERATOR, EXTERNAL = "op@rossi.test", "ext@client.test"


def task_people(org: Org, *, outsider: bool = True, external: bool = True) -> dict:
    """Staff CREATOR, DOER, HELPER, WATCHER (and OUTSIDER); Studio Rossi and its
    operator OPERATOR; clients Alfa ("client") and Beta ("other_client"), both with
    CREATOR responsible; OPERATOR in Alfa's work group; EXTERNAL Alfa's external user."""
    org.staff(CREATOR, DOER, HELPER, WATCHER, *([OUTSIDER] if outsider else []))
    studio = org.practice("Studio Rossi")
    org.user(OPERATOR, "Operatore", "studio-operator", studio=studio)
    client = org.client("Alfa Srl", studio, 1, responsible=CREATOR)
    other = org.client("Beta Srl", studio, 2, responsible=CREATOR)
    org.group(client, OPERATOR)
    if external:
        org.user(EXTERNAL, "Esterno", "external", client=client)
    return {"client": client, "other_client": other}


def add(cli, *args, as_user=CREATOR):
    """`sempi task add ... --json`, which must succeed: the tasks made."""
    result = cli("task", "add", *args, "--json", as_user=as_user)
    assert result.exit_code == 0, result.stderr
    return jsonlib.loads(result.stdout)


def one(cli, *args, **kwargs):
    """`sempi task add` of one task: the task."""
    return add(cli, *args, **kwargs)[0]


def status(cli, task_id, as_user=CREATOR):
    return jsonlib.loads(cli("task", "show", str(task_id), "--json", as_user=as_user).stdout)[
        "status"
    ]


# --- the onboarding tests' firm, made through the CLI -----------------------------------

RESP, STAFF2 = "resp@sempi.test", "staff2@sempi.test"  # firm staff
SADMIN, OTHER_ADMIN = "sadmin@rossi.test", "sadmin@verdi.test"  # Rossi's and Verdi's admins
PRACTICE_OPERATOR = "operator@rossi.test"  # Studio Rossi's operator


def onboarding_practices(cli, *, second_staff: bool = True) -> dict[str, int]:
    """Studio Rossi (administrator SADMIN, operator PRACTICE_OPERATOR), Studio Verdi
    (administrator OTHER_ADMIN) and firm staff RESP (and STAFF2), made with `sempi studio
    add` and `sempi user add`: the practices' ids by "rossi" and "verdi"."""
    ids = {
        key: data(cli("studio", "add", "--name", name, "--json"))["id"]
        for key, name in (("rossi", "Studio Rossi"), ("verdi", "Studio Verdi"))
    }
    for address, name, role, studio in (
        (RESP, "Rita Resp", "staff", None),
        *([(STAFF2, "Stefano Staff", "staff", None)] if second_staff else []),
        (SADMIN, "Sandro Admin", "studio-admin", "Studio Rossi"),
        (PRACTICE_OPERATOR, "Olga Operatrice", "studio-operator", "Studio Rossi"),
        (OTHER_ADMIN, "Vera Verdi", "studio-admin", "Studio Verdi"),
    ):
        args = ["user", "add", "--email", address, "--name", name, "--role", role]
        ok(cli(*args, *(["--studio", studio] if studio else [])))
    return ids


# --- two-step login in real time (real processes, the real clock) -----------------------


def wait_for_a_fresh_step(margin: float = 5.0) -> None:
    """Correctness, not timing: a code computed in the last seconds of a 30-second
    step could cross into a step where the test's premise no longer holds."""
    left = 30 - time.time() % 30
    if left < margin:
        time.sleep(left + 0.1)


def enrol_in_real_time(store_path: Path, email: str, secret: str) -> list[str]:
    """Turn two-step login on through the service with the real clock.

    The enrolment uses the code of the step before the current one (accepted:
    one step back), so the current step's code stays unused for the login
    that follows, without waiting up to 30 seconds for the next step."""
    from sempi_cli.clock import SystemClock
    from sempi_cli.services.identity.two_step import TwoStepService
    from sempi_cli.store import open_store

    register_secret(secret, "a TOTP secret")
    wait_for_a_fresh_step()
    conn = open_store(store_path)
    try:
        clock = SystemClock()
        previous = pyotp.TOTP(secret).at(clock.now() - timedelta(seconds=30))
        codes = TwoStepService(conn, clock, actor(conn, email)).confirm(secret, previous)
    finally:
        conn.close()
    for code in codes:
        register_secret(code, "a recovery code")  # never shown: the service returned them
    return codes


# --- mail: a real SMTP server ----------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: email.message.EmailMessage


@dataclass
class Handler:
    """Collects what arrives; may refuse recipients or data, or hold a DATA."""

    received: list[Received] = field(default_factory=list)
    rcpt_reply: str | None = None  # e.g. "451 4.3.0 Try again later"
    data_reply: str | None = None
    hold: threading.Event | None = None  # DATA waits for it (set by the test)
    reached: threading.Event = field(default_factory=threading.Event)
    drop_after_data: bool = False  # close the connection instead of answering DATA
    # Run while the sender waits for the reply to RCPT / DATA (what a person does meanwhile).
    on_rcpt: Callable[[], None] | None = None
    on_data: Callable[[], None] | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.on_rcpt:
            self.on_rcpt()
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.on_data:
            self.on_data()
        if self.data_reply:
            return self.data_reply
        raw = envelope.original_content or envelope.content
        self.received.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                raw,
                email.message_from_bytes(raw, policy=email.policy.default),
            )
        )
        self.reached.set()
        if self.hold is not None:
            self.hold.wait(timeout=60)  # blocks this server's loop: one client at a time
        if self.drop_after_data:
            server.transport.close()
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SmtpServer:
    handler: Handler
    port: int
    logins: list[tuple[str, str]]

    @property
    def received(self) -> list[Received]:
        return self.handler.received


def start_server(**auth) -> tuple[SmtpServer, object]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    handler = Handler()
    logins: list[tuple[str, str]] = []
    params = {}
    if auth:

        def authenticator(server, session, envelope, mechanism, data):
            login, password = data.login.decode(), data.password.decode()
            logins.append((login, password == auth["password"]))
            right = (login, password) == (auth["user"], auth["password"])
            return AuthResult(success=right, handled=False)  # aiosmtpd answers 235 or 535

        params = {"authenticator": authenticator, "auth_require_tls": False}
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **params)
    controller.start()
    return SmtpServer(handler, port, logins), controller


FIRM = "Studio Café Srl"
FROM = "segreteria@studiocafe.it"
TO = "mario.rossi@cliente.test"


def configure(db, clock, port: int, **extra: str) -> None:
    """SMTP to the local server, without TLS (allowed for localhost only)."""
    from sempi_cli.services.settings import ConfigService

    config = ConfigService(db, clock, actor(db, ADMIN_EMAIL))
    values = {
        "smtp.host": "127.0.0.1",
        "smtp.port": str(port),
        "smtp.security": "none",
        "smtp.from": FROM,
        **extra,
    }
    for key, value in values.items():
        config.set(key, value)


def outbox(db, clock, who: str = ADMIN_EMAIL):
    from sempi_cli.services.mail.outbox import Outbox

    return Outbox(db, clock, actor(db, who))


def queue_credentials(db, clock, n: int = 1, to: str = TO) -> list[int]:
    box = outbox(db, clock)
    return [
        box.queue("credentials", to, {"full_name": f"Mario Rossi {i}", "email": to})
        for i in range(n)
    ]


def row(db, mail_id: int) -> sqlite3.Row:
    return db.execute("SELECT * FROM mail_outbox WHERE id = ?", (mail_id,)).fetchone()


# --- the two languages (tests/test_i18n_*.py) ------------------------------------------------


def in_both_languages(cli, monkeypatch, *args: str, **options: object) -> list:
    """The same command in Italian, then in English (SEMPI_LANG)."""
    results = []
    for language in ("it", "en"):
        monkeypatch.setenv("SEMPI_LANG", language)
        results.append(cli(*args, **options))
    return results


def assert_one_italian_error(result, code: int, *fragments: str) -> str:
    """assert_one_line_error, for a line that begins with "Errore: "."""
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Errore: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


# --- a store edited by hand, behind sempi's back (tests of what notices it) ---------------


def foreign_keys_off(db) -> None:
    """As someone editing the store with its engine's own tool: foreign keys (on
    PostgreSQL every trigger) no longer checked on this connection."""
    from sempi_cli.store.transaction import engine

    if engine(db) == "postgresql":
        db.execute("SET session_replication_role = replica")
    else:
        db.execute("PRAGMA foreign_keys = OFF")


def drop_trigger(db, name: str, table: str) -> None:
    """Take a trigger of ``table`` out of the way, as someone with the engine's own
    tool: SQLite's is dropped; on PostgreSQL (a store the worker's tests share) this
    connection stops firing triggers, which leaves the schema as it is."""
    from sempi_cli.store.transaction import engine

    if engine(db) == "postgresql":
        db.execute("SET session_replication_role = replica")
    else:
        db.execute(f"DROP TRIGGER {name}")


# --- consent answers and coupon accounts written straight into the store ------------------


def consent_answer(
    db, client_id: int, word: str, by: str, at: str = "2026-11-16T09:30:00+00:00",
    *, on_behalf: bool = False, channel: str = "sempi",
) -> None:  # fmt: skip
    """An answer in the consent ledger, as the answers' service records one."""
    from sempi_cli.services import ledger
    from sempi_cli.store import write_transaction

    user = db.execute("SELECT id FROM users WHERE email = ?", (by,)).fetchone()[0]
    with write_transaction(db):
        ledger.append(
            db,
            "consent_answers",
            {
                "client_id": client_id,
                "answer": word,
                "comment": None,
                "answered_at": at,
                "answered_by": user,
                "on_behalf": int(on_behalf),
                "channel": channel,
                "evidence_document_id": None,
                "request_id": None,
            },
        )


def coupon_link(
    db,
    client_id: int,
    *,
    at: str,
    ends_on: str = "2026-12-31",
    unlinked: bool = False,
    licence: str = "standard-readonly",
    nickname: str | None = None,
    documents: int = 0,
    contacts: int = 0,
) -> None:
    """A migrated client, written straight into the coupon tables at ``at`` (the
    migration is another part's): a package, the account, one licence term."""
    from sempi_cli.store import write_transaction

    admin_id = db.execute("SELECT id FROM users WHERE email = ?", (ADMIN_EMAIL,)).fetchone()[0]
    studio_id = db.execute("SELECT studio_id FROM clients WHERE id = ?", (client_id,)).fetchone()[0]
    with write_transaction(db):
        package = db.execute(
            "INSERT INTO coupon_packages (studio_id, type, count, valid_until, added_at, added_by)"
            " VALUES (?, 'migrazione', 10, ?, ?, ?) RETURNING id",
            (studio_id, ends_on, at, admin_id),
        ).fetchone()[0]
        db.execute(
            "INSERT INTO coupon_accounts (client_id, email, nickname, consultant_name,"
            " consultant_surname, consultant_cf, authorised_at, authorised_by, unlinked_at,"
            " unlinked_by, documents, contacts)"
            " VALUES (?, ?, ?, 'Mario', 'Rossi', 'RSSMRA85T10A562S', ?, ?, ?, ?, ?, ?)",
            (client_id, f"conto{client_id}@cliente.test", nickname, at, admin_id,
             at if unlinked else None, admin_id if unlinked else None, documents, contacts),
        )  # fmt: skip
        db.execute(
            "INSERT INTO coupon_licences (client_id, package_id, how, licence, starts_on, ends_on,"
            " created_at, created_by) VALUES (?, ?, 'migration', ?, ?, ?, ?, ?)",
            (client_id, package, licence, ends_on[:4] + "-01-10", ends_on, at, admin_id),
        )
