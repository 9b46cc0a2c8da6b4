"""Yearly forms named by the year they are filed in ("CU 2026", periodo d'imposta
2025): the scadenzario finds them so, the titles name both years, and migration
m014 renames what a store made before (deadlines, tasks, overrides) so that the
next run changes nothing and a calendar app updates its events (same UID, higher
SEQUENCE) instead of adding copies."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime

import pytest

from tests.conftest import ADMIN_EMAIL, actor, scheduler_rows
from tests.helpers import ok

RESP = "resp@sempi.test"
MIGRATION = "m014_form_year_periods"
# The yearly forms and their labels before m014, as the code before it wrote titles.
OLD_LABELS = {
    "CU": "Certificazione Unica (dipendenti, assimilati, occasionali)",
    "CU-AUT": "Certificazione Unica (lavoro autonomo abituale e provvigioni)",
    "770": "Modello 770",
    "REDDITI": "Dichiarazione dei redditi e IRAP",
    "DICH-IVA": "Dichiarazione IVA annuale",
    "INAIL": "Autoliquidazione premio INAIL",
    "INAIL-DICH": "Dichiarazione delle retribuzioni INAIL",
}
RANGE = (date(2026, 1, 1), date(2027, 12, 31))


@pytest.fixture
def alfa(org):
    """A monthly VAT payer with employees and withholding: every yearly form applies."""
    rossi = org.practice("Studio Rossi")
    org.user(RESP, "Resp")
    return org.client(
        "Alfa Srl",
        rossi,
        1,
        responsible=RESP,
        fiscal_profile={
            "iva_periodicity": "mensile",
            "has_employees": True,
            "sostituto_imposta": True,
        },
    )


def run(db, clock):
    from sempi_cli.services.scheduler.runner import SchedulerService

    return SchedulerService(db, clock, actor(db, ADMIN_EMAIL)).run(start=RANGE[0], end=RANGE[1])


def js(cli, *args):
    return json.loads(ok(cli("scheduler", *args, "--json")).stdout)


# --- the scadenzario names a form by its year -----------------------------------------------


def test_list_rule_cu_period_2026_is_the_cu_due_16_march_2026(cli, db, clock, alfa):
    run(db, clock)
    (cu,) = js(cli, "list", "--rule", "CU", "--period", "2026")
    assert (cu["period"], cu["tax_year"], cu["due_date"]) == ("2026", 2025, "2026-03-16")
    assert cu["title"] == "Certificazione Unica 2026 (periodo d'imposta 2025)"
    assert cu["label"] == "Certificazione Unica"
    (redditi,) = js(cli, "list", "--rule", "redditi", "--period", "2026")
    assert (redditi["due_date"], redditi["tax_year"]) == ("2026-11-02", 2025)
    assert redditi["title"] == "Dichiarazioni Redditi e IRAP 2026 (periodo d'imposta 2025)"
    (dich,) = js(cli, "list", "--rule", "DICH-IVA", "--period", "2026")
    assert dich["title"] == "Dichiarazione IVA 2026 (periodo d'imposta 2025)"
    (inail,) = js(cli, "list", "--rule", "INAIL-DICH", "--period", "2026")
    assert (inail["due_date"], inail["title"]) == (
        "2026-03-02",
        "Dichiarazione delle retribuzioni INAIL 2026 (retribuzioni 2025)",
    )
    # a payment keeps its period: the saldo IVA 2025 is due 16 March 2026
    (saldo,) = js(cli, "list", "--rule", "IVA-SALDO", "--period", "2025")
    assert (saldo["due_date"], saldo["tax_year"]) == ("2026-03-16", 2025)
    assert saldo["title"] == "Saldo IVA annuale 2025"
    # every row has its tax year; a month's is its own year
    rows = js(cli, "list", "--client", str(alfa), "--from", "2026-01-01", "--to", "2026-01-31")
    assert {(r["rule_id"], r["period"], r["tax_year"]) for r in rows} >= {
        ("IVA-M", "2025-12", 2025),
        ("RA", "2025-12", 2025),
    }


def test_explain_names_the_form_year_and_the_tax_year(cli, db, clock, alfa):
    run(db, clock)
    data = js(cli, "explain", str(alfa), "CU", "2026")
    assert (data["period"], data["tax_year"], data["due_date"]) == ("2026", 2025, "2026-03-16")
    assert data["generated"] is True
    out = ok(cli("scheduler", "explain", str(alfa), "770", "2026")).stdout
    assert out.splitlines()[0] == (
        f"770 2026 (periodo d'imposta 2025) for Alfa Srl (client {alfa})"
    )
    assert "Due date:     2026-11-02 (lunedì)" in out
    # a form of a year not generated yet is computed the same way
    later = js(cli, "explain", str(alfa), "CU", "2028")
    assert (later["due_date"], later["tax_year"], later["generated"]) == ("2028-03-16", 2027, False)
    task = db.execute(
        "SELECT t.title, t.description, t.external_key FROM deadlines d"
        " JOIN tasks t ON t.id = d.task_id WHERE d.rule_id = 'CU' AND d.period = '2026'"
    ).fetchone()
    assert task["external_key"] == f"fiscal:{alfa}:CU:2026"
    assert task["description"].startswith("Scadenza fiscale CU 2026 (periodo d'imposta 2025).")
    assert task["description"].endswith(f"sempi scheduler explain {alfa} CU 2026")


# --- m014: a store made before it ----------------------------------------------------------


def _as_before_m014(db: sqlite3.Connection) -> dict[int, tuple[str, str]]:
    """Rewrite the yearly forms' rows as the code before m014 wrote them: the period
    was the tax year, and the title, description and task key followed it. Returns
    {deadline id: (rule, old period)}."""
    from sempi_cli.fiscal.rules import RULES_BY_ID

    old = {}
    rows = db.execute(
        f"SELECT d.id, d.client_id, d.rule_id, d.period, d.task_id FROM deadlines d"
        f" WHERE d.rule_id IN ({','.join('?' * len(OLD_LABELS))}) ORDER BY d.period",
        tuple(OLD_LABELS),
    ).fetchall()
    for row in rows:  # earliest first: 2026 -> 2025 frees 2026 for 2027 -> 2026
        rule, period = row["rule_id"], str(int(row["period"]) - 1)
        db.execute("UPDATE deadlines SET period = ? WHERE id = ?", (period, row["id"]))
        db.execute(
            "UPDATE tasks SET title = ?, description = ?, external_key = ? WHERE id = ?",
            (
                f"{OLD_LABELS[rule]} {period}",
                f"Scadenza fiscale {rule} {period}. Base normativa: "
                f"{RULES_BY_ID[rule].legal_basis}. Perché cade in questo giorno: "
                f"sempi scheduler explain {row['client_id']} {rule} {period}",
                f"fiscal:{row['client_id']}:{rule}:{period}",
                row["task_id"],
            ),
        )
        old[row["id"]] = (rule, period)
    db.execute("UPDATE fiscal_overrides SET period = '2025' WHERE rule_id = 'CU'")
    return old


def _undo_m014(path) -> None:
    """Make the next open apply m014 again, as on a store from before it."""
    conn = sqlite3.connect(path)
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    with conn:
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = ?", (MIGRATION,))
        conn.execute(f"PRAGMA user_version = {version - 1}")
    conn.close()


def _events(text: str) -> dict[str, dict]:
    from icalendar import Calendar

    return {
        str(e["uid"]): {"sequence": int(e["sequence"]), "summary": str(e["summary"]),
                        "description": str(e["description"]), "start": e["dtstart"].dt}
        for e in Calendar.from_ical(text).walk("VEVENT")
    }  # fmt: skip


def _export(db, clock) -> str:
    from sempi_cli.services.scheduler.views import DeadlineQuery, ScheduleViews

    return ScheduleViews(db, clock, actor(db, ADMIN_EMAIL)).ics(DeadlineQuery())


def test_m014_renames_a_pre_migration_store_and_the_next_run_changes_nothing(
    db, clock, store_path, alfa
):
    from sempi_cli.services.ics_file import store_identity
    from sempi_cli.services.scheduler.config import SchedulerConfig
    from sempi_cli.store import migrations, open_store

    # An extension of the CU 2026 (to 31 March), and a 770 task someone retitled (past,
    # so the scheduler leaves its title alone too).
    SchedulerConfig(db, clock, actor(db, ADMIN_EMAIL)).add_override(
        "CU", "2026", date(2026, 3, 31), "DL di prova"
    )
    run(db, clock)
    fresh = scheduler_rows(store_path)  # what today's code writes for this client
    fresh_export = _events(_export(db, clock))
    task_770 = db.execute(
        "SELECT task_id FROM deadlines WHERE rule_id = '770' AND period = '2026'"
    ).fetchone()[0]
    old = _as_before_m014(db)
    db.execute("UPDATE tasks SET title = '770 di Alfa (a mano)' WHERE id = ?", (task_770,))
    assert len(old) == 14  # seven forms, two years each (2025 and 2026 as tax years)
    store = store_identity(db)
    # The export before m014: UID "{client}-{rule}-{period}@{store}.sempi" (period then
    # the tax year), SEQUENCE the minutes from 2020-01-01 UTC to the row's updated_at.
    epoch = datetime(2020, 1, 1, tzinfo=UTC)
    before = {}
    for row in db.execute("SELECT id, client_id, rule_id, period, updated_at FROM deadlines"):
        uid = f"{row['client_id']}-{row['rule_id']}-{row['period']}@{store}.sempi"
        changed = datetime.fromisoformat(row["updated_at"])
        before[uid] = (row["id"], int((changed - epoch).total_seconds() // 60))
    db.close()
    _undo_m014(store_path)

    conn = open_store(store_path)  # applies m014 again
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == migrations.LATEST
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        for deadline_id, (rule, period) in old.items():
            row = conn.execute(
                "SELECT d.period, t.title, t.external_key FROM deadlines d"
                " JOIN tasks t ON t.id = d.task_id WHERE d.id = ?",
                (deadline_id,),
            ).fetchone()
            assert row["period"] == str(int(period) + 1)
            assert row["external_key"] == f"fiscal:{alfa}:{rule}:{int(period) + 1}"
        cu = conn.execute(
            "SELECT d.due_date, t.title, t.description, t.id FROM deadlines d"
            " JOIN tasks t ON t.id = d.task_id WHERE d.rule_id = 'CU' AND d.period = '2026'"
        ).fetchone()
        assert cu["due_date"] == "2026-03-31"  # the extension moved with its period
        assert cu["title"] == "Certificazione Unica 2026 (periodo d'imposta 2025)"
        assert cu["description"].startswith("Scadenza fiscale CU 2026 (periodo d'imposta 2025).")
        assert cu["description"].endswith(f"sempi scheduler explain {alfa} CU 2026")
        assert [tuple(r) for r in conn.execute("SELECT rule_id, period FROM fiscal_overrides")] == [
            ("CU", "2026")
        ]
        # the rename is in the task's history; a title changed by hand stays
        history = conn.execute(
            "SELECT actor_id, old, new FROM task_history WHERE task_id = ? AND field = 'title'",
            (cu["id"],),
        ).fetchall()
        assert [tuple(r) for r in history] == [(None, f"{OLD_LABELS['CU']} 2025", cu["title"])]
        assert conn.execute("SELECT title FROM tasks WHERE id = ?", (task_770,)).fetchone()[0] == (
            "770 di Alfa (a mano)"
        )

        # The export after: every event keeps its UID; the renamed ones have a higher
        # SEQUENCE, the others the same.
        after = _events(_export(conn, clock))
        assert set(after) == set(before) == set(fresh_export)
        for uid, (deadline_id, sequence) in before.items():
            if deadline_id in old:
                assert after[uid]["sequence"] > sequence, uid
                rule, period = old[deadline_id]
                assert after[uid]["summary"] == f"{rule} {int(period) + 1} — Alfa Srl"
            else:
                assert after[uid]["sequence"] == sequence, uid
            assert after[uid]["start"] == fresh_export[uid]["start"]
        cu_uid = f"{alfa}-CU-2025@{store}.sempi"
        assert "Periodo: 2026 (periodo d'imposta 2025)" in after[cu_uid]["description"]

        # The next run finds everything in place: nothing created, moved or cancelled.
        count = conn.execute("SELECT count(*) FROM deadlines").fetchone()[0]
        report = run(conn, clock)
        assert (report["created"], report["updated"], report["cancelled"]) == (0, 0, 0)
        assert report["changes"] == []
        assert conn.execute("SELECT count(*) FROM deadlines").fetchone()[0] == count
    finally:
        conn.close()
    # ... and the store holds what today's code writes (but the hand-made title and
    # the history lines of the rename).
    migrated = scheduler_rows(store_path)

    def comparable(rows):
        return [
            r for r in rows if r[0] != 3 and not (r[0] == 0 and r[2] == "770" and r[3] == "2026")
        ]

    assert comparable(migrated) == comparable(fresh)


def test_m014_is_a_no_op_on_a_store_without_deadlines(store_path):
    from sempi_cli.store import open_store

    _undo_m014(store_path)
    conn = open_store(store_path)
    try:
        assert conn.execute("SELECT count(*) FROM deadlines").fetchone()[0] == 0
        applied = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations")]
        assert MIGRATION in applied
    finally:
        conn.close()
