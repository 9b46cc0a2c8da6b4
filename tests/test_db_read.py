"""SEMPI_DB_READ (issue 20): the commands that only read (task list, due, show,
comments, history; client list, show; chat search) read a replica of the
PostgreSQL store; everything else, and finding who runs the command (a session's
use is a write), goes to the store itself. A replica that cannot be used now
leaves the command to the store; a replica named for a SQLite store is refused.

The real primary and standby pair is in test_store_postgres.py."""

from __future__ import annotations

import json

import pytest

from tests.helpers import CREATOR, DOER, assert_one_line_error, ok, one

READS = (
    ("task", "list", "--all"),
    ("task", "due"),
    ("task", "show", "{task}"),
    ("task", "comments", "{task}"),
    ("task", "history", "{task}"),
    ("client", "list"),
    ("client", "show", "{client}"),
    ("chat", "search", "bilancio"),
)


@pytest.fixture(scope="module")
def other_store(postgres_store):
    """Another store of the same schema on the worker's server, made once: a replica
    that has not (yet) received what the test writes."""
    from sempi_cli.store import open_store
    from tests import postgres_server

    address = postgres_server.database_for_app(postgres_store.server, "sempi_replica")
    open_store(address, create=True).close()
    return address


def read_only(address: str) -> str:
    """The same database through a connection that refuses every write."""
    return f"{address}?options=-c%20default_transaction_read_only%3Don"


@pytest.fixture
def made(cli, people) -> dict:
    task = one(cli, "Bilancio 2026", "-r", DOER, "-c", str(people["client"]), as_user=CREATOR)
    ok(cli("task", "comment", str(task["id"]), "bilancio da chiudere", as_user=DOER))
    ok(cli("chat", "send", "general", "bilancio pronto", as_user=CREATOR))
    return {"task": str(task["id"]), "client": str(people["client"])}


pg = pytest.mark.postgresql_only


@pg
@pytest.mark.parametrize("words", READS, ids=lambda w: " ".join(w[:2]))
def test_a_read_only_command_writes_nothing_through_the_replica(
    cli, store, made, monkeypatch, words
):
    """Each command marked read-only, against a replica that refuses writes: the
    same answer as from the store (a write through it would be exit 10)."""
    args = [w.format(**made) for w in words]
    expected = ok(cli("--json", *args, as_user=CREATOR)).stdout
    monkeypatch.setenv("SEMPI_DB_READ", read_only(store))
    assert ok(cli("--json", *args, as_user=CREATOR)).stdout == expected


@pg
def test_reads_come_from_the_replica_and_writes_go_to_the_store(
    cli, store, made, other_store, monkeypatch
):
    monkeypatch.setenv("SEMPI_DB_READ", other_store)
    assert json.loads(ok(cli("--json", "task", "list", "--all", as_user=CREATOR)).stdout) == []
    added = one(cli, "Dichiarazione IVA", "-r", DOER, as_user=CREATOR)  # the store's
    assert_one_line_error(cli("task", "show", str(added["id"]), as_user=CREATOR), 3)
    monkeypatch.delenv("SEMPI_DB_READ")
    listed = json.loads(ok(cli("--json", "task", "list", "--all", as_user=CREATOR)).stdout)
    assert {t["title"] for t in listed} == {"Bilancio 2026", "Dichiarazione IVA"}


@pg
def test_a_replica_that_cannot_be_used_leaves_the_reads_to_the_store(cli, store, made, monkeypatch):
    host = store.split("@", 1)[1].split("/", 1)[0]
    monkeypatch.setenv("SEMPI_DB_READ", store.replace(host, "127.0.0.1:1"))  # nobody there
    listed = json.loads(ok(cli("--json", "task", "list", "--all", as_user=CREATOR)).stdout)
    assert [t["title"] for t in listed] == ["Bilancio 2026"]


@pytest.mark.sqlite_only
def test_a_replica_for_a_sqlite_store_is_refused(cli, people, monkeypatch):
    monkeypatch.setenv("SEMPI_DB_READ", "postgresql://sempi@replica.example/sempi")
    refused = cli("task", "list", as_user=CREATOR)
    assert_one_line_error(refused, 6, "SEMPI_DB_READ", "PostgreSQL store")


@pg
def test_doctor_says_what_the_replica_is(cli, store, other_store, monkeypatch):
    """pg_replica: none; one that cannot be used (a warning: the store answers);
    a database that is not a standby (the standby itself: test_store_postgres.py)."""

    def replica_row() -> dict:
        rows = json.loads(cli("--json", "doctor").stdout)
        return next(r for r in rows if r["check"] == "pg_replica")

    assert replica_row()["status"] == "ok" and "not set" in replica_row()["detail"]
    host = store.split("@", 1)[1].split("/", 1)[0]
    monkeypatch.setenv("SEMPI_DB_READ", store.replace(host, "127.0.0.1:1"))
    row = replica_row()
    assert row["status"] == "warn" and "cannot be used" in row["detail"]
    assert "the commands read the store instead" in row["detail"]
    monkeypatch.setenv("SEMPI_DB_READ", other_store)
    row = replica_row()
    assert row["status"] == "warn" and "is not a standby" in row["detail"]
