"""Shared fixtures: every test gets its own SEMPI_HOME, store and fixed clock."""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sempi_cli.cli.app import app
from sempi_cli.cli.context import AppContext
from sempi_cli.clock import FixedClock
from sempi_cli.services.access import Actor
from sempi_cli.services.auth import actor_from_row
from sempi_cli.store import open_store

NOW = datetime(2026, 11, 16, 9, 30, tzinfo=UTC)
ADMIN_EMAIL = "admin@sempi.test"
ADMIN_PASSWORD = "admin-password-for-tests"


@pytest.fixture(autouse=True)
def sempi_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test ever touches real data: the home and store live in tmp_path."""
    home = tmp_path / "home"
    monkeypatch.setenv("SEMPI_HOME", str(home))
    for var in ("SEMPI_DB", "SEMPI_USER", "SEMPI_APP_PASSWORD", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture(scope="session")
def template_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One initialised store per test process (hashing the password costs ~0.2 s)."""
    from sempi_cli.services.firm import create_store

    path = tmp_path_factory.mktemp("template") / "sempi.db"
    conn, _ = create_store(
        path, FixedClock(NOW), "Sempi Servizi Srl", ADMIN_EMAIL, "Anna Admin", ADMIN_PASSWORD
    )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path


@pytest.fixture
def store_path(sempi_home: Path, template_store: Path) -> Path:
    """An initialised store: the firm and its first administrator (a fresh copy)."""
    import shutil

    sempi_home.mkdir(mode=0o700, exist_ok=True)
    path = sempi_home / "sempi.db"
    shutil.copy2(template_store, path)
    return path


@pytest.fixture
def db(store_path: Path):
    conn = open_store(store_path)
    yield conn
    conn.close()


def actor(db: sqlite3.Connection, email: str) -> Actor:
    return actor_from_row(db.execute("SELECT * FROM users WHERE email = ?", (email,)).fetchone())


@pytest.fixture
def admin(db: sqlite3.Connection) -> Actor:
    return actor(db, ADMIN_EMAIL)


@dataclass
class Cli:
    """Runs `sempi` in-process as a given user, with stdout and stderr apart."""

    store_path: Path
    clock: FixedClock
    runner: CliRunner = field(default_factory=CliRunner)

    def __call__(
        self, *args: str, as_user: str | None = ADMIN_EMAIL, input: str | None = None, **ctx: object
    ):
        obj = AppContext(db_path=self.store_path, clock=self.clock, actor_email=as_user, **ctx)
        return self.runner.invoke(app, list(args), obj=obj, input=input, catch_exceptions=False)


@pytest.fixture
def cli(store_path: Path, clock: FixedClock) -> Cli:
    return Cli(store_path, clock)


def store_digest(path: Path) -> str:
    """The store's content, for proving that a failed command changed nothing."""
    conn = sqlite3.connect(path)
    try:
        return hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()
    finally:
        conn.close()


# Valid Italian identifiers used across the tests (check digits computed by stdnum).
def piva(n: int) -> str:
    from stdnum import luhn

    base = f"{n + 1:07d}" + "001"  # 7-digit progressive + office code 001 (Milano)
    return base + luhn.calc_check_digit(base)


def cf_person(n: int) -> str:
    from stdnum.it import codicefiscale

    letters = "BCDFGHLMNPRSTVZ"
    surname = letters[n % 15] + letters[(n // 15) % 15] + "X"
    body = f"{surname}MRA85T{10 + n % 18:02d}F205"
    return body + codicefiscale.calc_check_digit(body)
