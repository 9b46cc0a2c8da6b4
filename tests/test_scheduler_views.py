"""`sempi scheduler` views: the scadenzario with its filters and statuses, the
month grid, explain, the .ics export, rules and holidays; visibility follows
the deadline's task; bad input is one line, an exit code and no file."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import ADMIN_EMAIL, actor
from tests.helpers import assert_one_line_error, ok

# 10 June 2025, 10:00 in Rome: LIPE and BOLLO 2025-Q1 (31 May, moved to 3 June)
# are past, IVA-M 2025-05 (16 June) is ahead.
TODAY = datetime(2025, 6, 10, 8, 0, tzinfo=UTC)
STAFF_IN, STAFF_OUT, RESP = "in@sempi.test", "out@sempi.test", "resp@sempi.test"
OPERATOR, EXTERNAL = "operatore@studio.test", "esterno@alfa.test"


@pytest.fixture
def world(db, clock, org):
    """Alfa (quarterly VAT, bollo; STAFF_IN responsible, EXTERNAL its own user) and
    Beta (monthly VAT; RESP responsible) of Studio Rossi; Gamma (forfettario) of
    Studio Bianchi. The scheduler runs from May to September 2025."""
    from sempi_cli.services.scheduler.runner import SchedulerService

    clock.set(TODAY)
    rossi = org.practice("Studio Rossi")
    bianchi = org.practice("Studio Bianchi")
    org.staff(STAFF_IN, STAFF_OUT, RESP)
    org.user(OPERATOR, "Operatore", "studio-operator", studio=rossi)

    def client(name, n, studio, responsible, **profile):
        return org.client(name, studio, n, responsible=responsible, fiscal_profile=profile)

    alfa = client("Alfa Srl", 1, rossi, STAFF_IN, iva_periodicity="trimestrale",
                  issues_bollo_efatture=True)  # fmt: skip
    beta = client("Beta Srl", 2, rossi, RESP, iva_periodicity="mensile")
    gamma = client("Gamma Srl", 3, bianchi, RESP, forfettario=True)
    org.user(EXTERNAL, "Esterno", "external", client=alfa)
    SchedulerService(db, clock, org.admin).run(start=date(2025, 5, 1), end=date(2025, 9, 30))
    return {"alfa": alfa, "beta": beta, "gamma": gamma, "rossi": rossi, "bianchi": bianchi}


def task_of(db, client_id, rule_id, period):
    return db.execute(
        "SELECT task_id FROM deadlines WHERE client_id = ? AND rule_id = ? AND period = ?",
        (client_id, rule_id, period),
    ).fetchone()[0]


def complete(db, task_id):
    db.execute(
        "UPDATE tasks SET status = 'completed', completed_at = ? WHERE id = ?",
        (TODAY.isoformat(), task_id),
    )


def cancel(db, client_id, rule_id, period):
    db.execute(
        "UPDATE deadlines SET state = 'cancelled', updated_at = ?"
        " WHERE client_id = ? AND rule_id = ? AND period = ?",
        (TODAY.isoformat(), client_id, rule_id, period),
    )


def views(db, clock, email=ADMIN_EMAIL):
    from sempi_cli.services.scheduler.views import ScheduleViews

    return ScheduleViews(db, clock, actor(db, email))


STATUSES = ("upcoming", "overdue", "done", "cancelled")


def query(**kw):
    from sempi_cli.services.scheduler.views import DeadlineQuery

    return DeadlineQuery(**kw)


def keys(rows):
    return [(r["client"], r["rule_id"], r["period"]) for r in rows]


def js(cli, *args, as_user=ADMIN_EMAIL):
    return json.loads(ok(cli("scheduler", *args, "--json", as_user=as_user)).stdout)


# --- the scadenzario ------------------------------------------------------------------


def test_list_is_ordered_by_due_date_client_rule_and_carries_the_contract(db, clock, world):
    rows = views(db, clock).list(query())
    assert rows
    order = [(r["due_date"], r["client"], r["rule_id"], r["period"]) for r in rows]
    assert order == sorted(order)
    lipe = next(r for r in rows if r["client"] == "Alfa Srl" and r["rule_id"] == "LIPE")
    assert lipe["period"] == "2025-Q1"
    assert (lipe["nominal_date"], lipe["due_date"]) == ("2025-05-31", "2025-06-03")
    assert [s["to"] for s in lipe["shifts"]] == ["2025-06-01", "2025-06-02", "2025-06-03"]
    assert lipe["client_id"] == world["alfa"]
    assert lipe["responsible"] == STAFF_IN
    assert lipe["label"] == "Comunicazione liquidazioni periodiche IVA"
    assert lipe["task_deadline"].startswith("2025-06-03T18:00")
    assert lipe["task_id"] == task_of(db, world["alfa"], "LIPE", "2025-Q1")


def test_each_status(db, clock, world):
    a = world["alfa"]
    complete(db, task_of(db, a, "IVA-T", "2025-Q1"))
    cancel(db, a, "BOLLO", "2025-Q2")
    status = {(r["rule_id"], r["period"]): r["status"] for r in views(db, clock).list(
        query(client=a, statuses=["upcoming", "overdue", "done", "cancelled"]))}  # fmt: skip
    assert status[("IVA-T", "2025-Q1")] == "done"  # 16 May, completed
    assert status[("LIPE", "2025-Q1")] == "overdue"  # 3 June, open
    assert status[("IVA-T", "2025-Q2")] == "upcoming"  # 20 August
    assert status[("BOLLO", "2025-Q2")] == "cancelled"
    # By default everything but cancelled; one status at a time on request.
    default = keys(views(db, clock).list(query(client=a)))
    assert ("Alfa Srl", "BOLLO", "2025-Q2") not in default
    assert ("Alfa Srl", "IVA-T", "2025-Q1") in default
    for wanted in ("upcoming", "overdue", "done", "cancelled"):
        rows = views(db, clock).list(query(client=a, statuses=[wanted]))
        assert rows and {r["status"] for r in rows} == {wanted}


def test_overdue_starts_at_the_tasks_deadline_hour(db, clock, world):
    """The task falls due at 18:00 Rome on the due date: overdue from then, not from midnight."""
    q = query(client=world["beta"], rule="IVA-M", period="2025-05")
    clock.set(datetime(2025, 6, 16, 15, 59, tzinfo=UTC))  # 17:59 in Rome
    assert views(db, clock).list(q)[0]["status"] == "upcoming"
    clock.set(datetime(2025, 6, 16, 16, 1, tzinfo=UTC))
    assert views(db, clock).list(q)[0]["status"] == "overdue"


def test_filters(db, clock, world):
    v = views(db, clock)
    a, b = world["alfa"], world["beta"]
    assert {r["client_id"] for r in v.list(query(client=a))} == {a}
    assert {r["client_id"] for r in v.list(query(studio="Studio Rossi"))} == {a, b}
    assert {r["client_id"] for r in v.list(query(studio=str(world["bianchi"])))} == {world["gamma"]}
    assert {r["responsible"] for r in v.list(query(responsible=STAFF_IN))} == {STAFF_IN}
    assert {r["responsible"] for r in views(db, clock, RESP).list(query(mine=True))} == {RESP}
    assert {r["rule_id"] for r in v.list(query(rule="lipe"))} == {"LIPE"}
    assert {r["period"] for r in v.list(query(rule="IVA-M", period="2025-06"))} == {"2025-06"}
    assert {(r["rule_id"], r["period"]) for r in v.list(query(period="2025-q1"))} >= {
        ("LIPE", "2025-Q1"),
        ("IVA-T", "2025-Q1"),
    }
    june = v.list(query(start="01/06/2025", end="2025-06-30"))
    assert june and all("2025-06-01" <= r["due_date"] <= "2025-06-30" for r in june)
    assert {r["due_date"] for r in v.list(query(start="today", end="today"))} <= {"2025-06-10"}
    assert len(v.list(query(limit=2))) == 2


def test_visibility(db, clock, world):
    everyone = {r["client_id"] for r in views(db, clock).list(query())}
    assert everyone == {world["alfa"], world["beta"], world["gamma"]}
    # Not in any work group: nothing, even asking by client.
    for email in (STAFF_OUT, OPERATOR):
        assert views(db, clock, email).list(query()) == []
        assert views(db, clock, email).list(query(client=world["alfa"])) == []
    # An external user sees their own client's deadlines only.
    assert {r["client_id"] for r in views(db, clock, EXTERNAL).list(query())} == {world["alfa"]}
    # Staff see the work groups they are in (the responsible joins the client's group).
    assert {r["client_id"] for r in views(db, clock, STAFF_IN).list(query())} == {world["alfa"]}


def test_cli_list_table_json_csv(cli, world):
    table = ok(cli("scheduler", "list", "--client", str(world["alfa"]), "--rule", "LIPE"))
    assert "03/06/2025 *" in table.stdout and "Alfa Srl" in table.stdout
    assert "deadline(s)" in table.stderr
    rows = js(cli, "list", "--rule", "LIPE", "--period", "2025-Q1")
    assert {r["client"] for r in rows} == {"Alfa Srl", "Beta Srl"}
    first = rows[0]
    for key in ("client_id", "rule_id", "period", "nominal_date", "due_date", "task_id", "status"):
        assert key in first
    csv = ok(cli("scheduler", "list", "--format", "csv", "--status", "overdue")).stdout
    header = csv.splitlines()[0].split(",")
    assert {"client_id", "rule_id", "period", "due_date", "status"} <= set(header)
    external = js(cli, "list", as_user=EXTERNAL)
    assert external and {r["client"] for r in external} == {"Alfa Srl"}
    assert js(cli, "list", as_user=STAFF_OUT) == []


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--rule", "NOPE"], 6, "--rule"),
        (["--rule", "LIPE", "--period", "2025-05"], 6, "--period"),
        (["--rule", "LIPE", "--period", "2025-Q5"], 6, "--period"),
        (["--period", "2025-13"], 6, "--period"),
        (["--status", "late"], 6, "--status"),
        (["--from", "31/02/2025"], 6, "--from"),
        (["--from", "2025-07-01", "--to", "2025-06-01"], 6, "--from"),
        (["--responsible", "nobody@sempi.test"], 3, "not found"),
        (["--studio", "Studio Verdi"], 3, "not found"),
        (["--mine", "--responsible", RESP], 2, "--mine"),
    ],
)
def test_cli_list_bad_input(cli, world, args, code, words):
    result = cli("scheduler", "list", *args)
    assert_one_line_error(result, code, words)
    assert result.stdout == ""


# --- the month -------------------------------------------------------------------------


def test_calendar_grid_and_list(cli, world):
    out = ok(cli("scheduler", "calendar", "--month", "2025-06")).stdout
    lines = out.splitlines()
    assert lines[0].strip() == "giugno 2025"
    assert lines[1].split() == ["sett.", "lu", "ma", "me", "gi", "ve", "sa", "do"]
    # 1 June 2025 is a Sunday: the first week (ISO week 22) has one cell, in the last column.
    assert lines[2].split() == ["22", "1"] and lines[2].rindex("1") == 6 + 8 * 6 + 2
    # 2 June, Festa della Repubblica, is a holiday; 3 June has LIPE and BOLLO deadlines.
    assert lines[3].split()[0] == "23" and "  2*" in lines[3] and "  3 [" in lines[3]
    assert "2025-06-02 lunedì: Festa della Repubblica" in out
    assert "2025-06-03 martedì (" in out
    assert "LIPE   2025-Q1  Alfa Srl" in out


def test_calendar_json_and_words(cli, world, clock):
    data = js(cli, "calendar", "--month", "06/2025", "--client", str(world["alfa"]))
    assert data["month"] == "2025-06" and len(data["days"]) == 30
    by_date = {d["date"]: d for d in data["days"]}
    assert by_date["2025-06-02"]["holiday"] == "Festa della Repubblica"
    assert not by_date["2025-06-02"]["working_day"]
    assert (by_date["2025-06-01"]["iso_week"], by_date["2025-06-02"]["iso_week"]) == (22, 23)
    assert {(d["rule_id"], d["period"]) for d in by_date["2025-06-03"]["deadlines"]} == {
        ("LIPE", "2025-Q1"),
        ("BOLLO", "2025-Q1"),
    }
    assert data["total"] == sum(d["count"] for d in data["days"])
    assert js(cli, "calendar")["month"] == "2025-06"  # this month, in Rome
    assert js(cli, "calendar", "--month", "next month")["month"] == "2025-07"
    assert js(cli, "calendar", "--month", "agosto 2025")["month"] == "2025-08"
    assert js(cli, "calendar", "--month", "eoy")["month"] == "2025-12"
    empty = js(cli, "calendar", "--month", "2025-06", as_user=OPERATOR)
    assert empty["total"] == 0


def test_calendar_numbers_the_iso_weeks_across_the_year_change(cli, world):
    """31 December 2026 is a Thursday: 28-31 December are in week 53 of 2026, and so
    are 1-3 January 2027; week 1 of 2027 starts on Monday 4 January."""

    def grid(month, *options):
        out = ok(cli("scheduler", "calendar", "--month", month, *options)).stdout
        return [line.split() for line in out.splitlines()[2:8] if line.strip()]

    december = grid("2026-12")
    assert [row[0] for row in december[:6]] == ["49", "50", "51", "52", "53"]
    assert december[-1] == ["53", "28", "29", "30", "31"]
    january = grid("2027-01")
    assert january[0] == ["53", "1*", "2", "3"]  # Capodanno, a Friday
    assert january[1][:2] == ["1", "4"] and [row[0] for row in january[1:5]] == ["1", "2", "3", "4"]
    assert "sett." in ok(cli("scheduler", "calendar", "--month", "2027-01")).stdout
    # --no-weeks: the grid as before, Monday in the first column
    plain = ok(cli("scheduler", "calendar", "--month", "2027-01", "--no-weeks")).stdout
    assert plain.splitlines()[1].split() == ["lu", "ma", "me", "gi", "ve", "sa", "do"]
    assert plain.splitlines()[2].split() == ["1*", "2", "3"]
    assert "sett." not in plain
    # JSON: every day's ISO week (the ISO year of 1-3 January 2027 is 2026)
    days = {d["date"]: d["iso_week"] for d in js(cli, "calendar", "--month", "2027-01")["days"]}
    assert (days["2027-01-01"], days["2027-01-03"], days["2027-01-04"]) == (53, 53, 1)
    assert days["2027-01-31"] == 4
    december_days = js(cli, "calendar", "--month", "2026-12")["days"]
    assert [d["iso_week"] for d in december_days][-4:] == [53, 53, 53, 53]
    assert js(cli, "calendar", "--month", "2025-12")["days"][-3]["iso_week"] == 1  # 29 Dec 2025


@pytest.mark.parametrize("month", ["2025-13", "giugnoo", "3000-01", "13/2025"])
def test_calendar_bad_month(cli, world, month):
    result = cli("scheduler", "calendar", "--month", month)
    assert_one_line_error(result, 6, "--month")
    assert result.stdout == ""


# --- explain ---------------------------------------------------------------------------


def test_explain_a_stored_deadline(cli, world, db):
    out = ok(cli("scheduler", "explain", str(world["alfa"]), "lipe", "2025-q1")).stdout
    assert "LIPE 2025-Q1 for Alfa Srl" in out
    assert "iva_periodicity=trimestrale, forfettario=no" in out
    assert "2025-05-31 (sabato)" in out
    for reason in ("sabato", "domenica", "festività nazionale (Festa della Repubblica)"):
        assert reason in out
    assert "2025-06-03 (martedì)" in out
    assert "art. 21-bis DL 78/2010" in out
    task = task_of(db, world["alfa"], "LIPE", "2025-Q1")
    assert f"Task:         {task} (pending, responsible {STAFF_IN}): overdue" in out
    data = js(cli, "explain", str(world["alfa"]), "BOLLO", "2025-Q1")
    assert data["generated"] and data["task_id"] == task_of(db, world["alfa"], "BOLLO", "2025-Q1")
    assert data["profile"] == {"issues_bollo_efatture": True}
    assert [s["reason"] for s in data["shifts"]][-1].startswith("festività nazionale")
    assert data["legal_basis"].startswith("art. 6 c.2 DM 17/06/2014")


def test_explain_computes_what_is_not_generated_yet_with_the_august_rule(cli, world):
    data = js(cli, "explain", str(world["alfa"]), "IVA-T", "2026-Q2")
    assert not data["generated"] and data["task_id"] is None
    assert (data["nominal_date"], data["due_date"]) == ("2026-08-16", "2026-08-20")
    assert any("Ferragosto" in s["reason"] for s in data["shifts"])
    assert any("not generated yet" in n for n in data["notes"])


def test_explain_uses_an_override_covering_the_client(cli, world, db):
    db.execute(
        "INSERT INTO fiscal_overrides (rule_id, period, due_date, reason, applies_to, created_at)"
        " VALUES ('ACC-1', '2026', '2026-07-21', 'DL 99/2027 art. 1', '[\"isa_subject\"]', ?)",
        (TODAY.isoformat(),),
    )
    plain = js(cli, "explain", str(world["alfa"]), "ACC-1", "2026")
    assert plain["override_reason"] is None and plain["due_date"] == "2026-06-30"
    assert any("covers only clients with isa_subject" in n for n in plain["notes"])
    db.execute("UPDATE client_profiles SET isa_subject = 1 WHERE client_id = ?", (world["alfa"],))
    moved = js(cli, "explain", str(world["alfa"]), "ACC-1", "2026")
    assert moved["override_reason"] == "DL 99/2027 art. 1"
    assert moved["due_date"] == "2026-07-21"
    out = ok(cli("scheduler", "explain", str(world["alfa"]), "ACC-1", "2026")).stdout
    assert "Extension:    DL 99/2027 art. 1" in out and "proroga: DL 99/2027 art. 1" in out


def test_explain_of_a_cancelled_deadline_says_so(cli, world, db):
    cancel(db, world["alfa"], "BOLLO", "2025-Q2")
    data = js(cli, "explain", str(world["alfa"]), "BOLLO", "2025-Q2")
    assert data["status"] == "cancelled" and any("cancelled" in n for n in data["notes"])


def test_explain_visibility(cli, world):
    a = str(world["alfa"])
    assert js(cli, "explain", a, "LIPE", "2025-Q1", as_user=EXTERNAL)["client"] == "Alfa Srl"
    for email in (STAFF_OUT, OPERATOR):
        result = cli("scheduler", "explain", a, "LIPE", "2025-Q1", as_user=email)
        assert_one_line_error(result, 3, f"client {a} not found")
        result = cli("scheduler", "explain", a, "IVA-T", "2026-Q2", as_user=email)
        assert_one_line_error(result, 3)


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["{alfa}", "NOPE", "2025-Q1"], 6, "RULE: no rule 'NOPE'"),
        (["{alfa}", "LIPE", "2025-05"], 6, "PERIOD: '2025-05' is not a period of LIPE"),
        (["{alfa}", "CU-AUT", "2024"], 6, "CU-AUT has no period 2024"),
        (["999", "LIPE", "2025-Q1"], 3, "client 999 not found"),
        (["{gamma}", "LIPE", "2025-Q1"], 3, "applies to contribuenti IVA periodici"),
        (["{beta}", "BOLLO", "2025-Q1"], 3, "the client has issues_bollo_efatture=no"),
        (["{alfa}", "LIPE"], 2, "Missing argument 'period'"),
    ],
)
def test_explain_bad_input(cli, world, args, code, words):
    result = cli("scheduler", "explain", *[a.format(**world) for a in args])
    line = assert_one_line_error(result, code)
    assert words in line
    if "applies to" in words:
        assert "iva_periodicity=none, forfettario=yes" in line


# --- iCalendar -------------------------------------------------------------------------


def events(path_or_text):
    from icalendar import Calendar

    text = path_or_text.read_bytes() if isinstance(path_or_text, Path) else path_or_text
    return {
        (str(e["summary"])): e for e in Calendar.from_ical(text).walk("VEVENT")
    }  # keyed by summary


def test_export_ics(cli, world, db, tmp_path, clock):
    cancel(db, world["alfa"], "BOLLO", "2025-Q2")
    complete(db, task_of(db, world["alfa"], "IVA-T", "2025-Q1"))
    path = tmp_path / "scadenze.ics"
    result = ok(cli("scheduler", "export", "--ics", str(path), "--client", str(world["alfa"])))
    assert "Exported" in result.stderr and result.stdout == ""
    assert os.stat(path).st_mode & 0o777 == 0o600
    found = events(path)
    lipe = found["LIPE 2025-Q1 — Alfa Srl"]
    assert lipe.decoded("dtstart") == date(2025, 6, 3)
    assert lipe.decoded("dtend") == date(2025, 6, 4)
    assert lipe["dtstart"].params.get("VALUE") == "DATE"
    description = str(lipe["description"])
    for text in (
        "Comunicazione liquidazioni periodiche IVA",
        "Scadenza nominale: 2025-05-31",
        "festività nazionale (Festa della Repubblica)",
        "Base normativa: art. 21-bis DL 78/2010",
    ):
        assert text in description
    assert str(lipe["status"]) == "CONFIRMED"
    assert lipe.decoded("dtstamp") == TODAY
    assert str(found["BOLLO 2025-Q2 — Alfa Srl"]["status"]) == "CANCELLED"
    done = found["✓ IVA-T 2025-Q1 — Alfa Srl"]
    assert "(completato)" in str(done["description"]) and "VALARM" not in done.to_ical().decode()
    assert "TRIGGER:-P10D" in lipe.to_ical().decode()  # LIPE: reminded 10 days before
    store = str(lipe["uid"]).split("@")[1]
    every = views(db, clock).list(query(client=world["alfa"], statuses=list(STATUSES)))
    assert {str(e["uid"]) for e in found.values()} == {
        f"{r['client_id']}-{r['rule_id']}-{r['period']}@{store}" for r in every
    }
    # A second export (later, after the scheduler moved nothing): the same UIDs and
    # sequence numbers; only DTSTAMP moves.
    clock.advance(timedelta(days=1))
    again = ok(cli("scheduler", "export", "--ics", "-", "--client", str(world["alfa"]))).stdout
    second = events(again.encode())
    assert {str(e["uid"]) for e in second.values()} == {str(e["uid"]) for e in found.values()}
    assert [int(e["sequence"]) for e in second.values()] == [
        int(e["sequence"]) for e in found.values()
    ]


def test_export_sequence_grows_when_a_deadline_moves(cli, world, db, clock):
    def lipe_sequence():
        text = ok(cli("scheduler", "export", "--ics", "-", "--rule", "LIPE")).stdout
        return int(events(text.encode())["LIPE 2025-Q1 — Alfa Srl"]["sequence"])

    before = lipe_sequence()
    clock.advance(timedelta(hours=2))
    db.execute(
        "UPDATE deadlines SET due_date = '2025-06-04', updated_at = ?"
        " WHERE client_id = ? AND rule_id = 'LIPE' AND period = '2025-Q1'",
        (clock.now().isoformat(), world["alfa"]),
    )
    assert lipe_sequence() > before


def test_export_visibility_and_filters(cli, world, tmp_path):
    text = ok(cli("scheduler", "export", "--ics", "-", as_user=EXTERNAL)).stdout
    assert {s.split(" — ")[1] for s in events(text.encode())} == {"Alfa Srl"}
    text = ok(cli("scheduler", "export", "--ics", "-", as_user=STAFF_OUT)).stdout
    assert events(text.encode()) == {} and "BEGIN:VCALENDAR" in text
    text = ok(cli("scheduler", "export", "--ics", "-", "--responsible", RESP)).stdout
    assert {s.split(" — ")[1] for s in events(text.encode())} == {"Beta Srl", "Gamma Srl"}
    text = ok(cli("scheduler", "export", "--ics", "-", "--studio", "Studio Bianchi")).stdout
    assert {s.split(" — ")[1] for s in events(text.encode())} == {"Gamma Srl"}


def test_export_refuses_to_overwrite_unless_forced(cli, world, tmp_path):
    (tmp_path / "feeds").mkdir()
    path = tmp_path / "feeds" / "feed.ics"
    path.write_text("old")
    result = cli("scheduler", "export", "--ics", str(path))
    assert_one_line_error(result, 4, "--force")
    assert path.read_text() == "old"
    ok(cli("scheduler", "export", "--ics", str(path), "--force"))
    assert events(path) and os.stat(path).st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["feed.ics"]  # no temporary file left


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--rule", "NOPE"], 6, "--rule"),
        (["--status", "late"], 6, "--status"),
        (["--from", "yesterday-ish"], 6, "--from"),
        (["--responsible", "nobody@sempi.test"], 3, "not found"),
    ],
)
def test_export_bad_input_writes_nothing(cli, world, tmp_path, args, code, words):
    path = tmp_path / "out.ics"
    result = cli("scheduler", "export", "--ics", str(path), *args)
    assert_one_line_error(result, code, words)
    assert not path.exists()


def test_export_into_a_missing_folder(cli, world, tmp_path):
    for extra in ([], ["--force"]):
        result = cli("scheduler", "export", "--ics", str(tmp_path / "no" / "x.ics"), *extra)
        assert_one_line_error(result, 6, "--ics")
    assert not (tmp_path / "no").exists()


# --- rules and holidays ----------------------------------------------------------------


def test_rules(cli):
    from sempi_cli.fiscal.rules import RULES

    table = ok(cli("scheduler", "rules")).stdout
    assert "LIPE" in table and "art. 21-bis DL 78/2010" in table
    rows = js(cli, "rules")
    assert [r["id"] for r in rows] == [r.id for r in RULES]
    lipe = next(r for r in rows if r["id"] == "LIPE")
    assert lipe["august_rule"] is True and lipe["fields"] == ["iva_periodicity", "forfettario"]
    assert "applies" not in lipe and "due" not in lipe and lipe["checklist"]


def test_holidays(cli):
    rows = js(cli, "holidays", "2026")
    october = next(r for r in rows if r["date"] == "2026-10-04")  # national from 2026
    assert october["weekday"] == "domenica" and "San Francesco" in october["name"]
    assert "2025-10-04" not in {r["date"] for r in js(cli, "holidays", "2025")}
    assert rows == sorted(rows, key=lambda r: r["date"])
    out = ok(cli("scheduler", "holidays", "2025")).stdout
    assert "02/06/2025" in out and "lunedì" in out and "Festa della Repubblica" in out
    assert "07/12/2025" not in out  # Sant'Ambrogio: a patron saint, not national


@pytest.mark.parametrize(("year", "code"), [("1949", 6), ("2101", 6), ("duemila", 2)])
def test_holidays_bad_year(cli, year, code):
    result = cli("scheduler", "holidays", year)
    assert result.exit_code == code
    if code == 6:
        assert_one_line_error(result, 6, "YEAR")
    assert result.stdout == ""


def test_rules_and_holidays_need_no_login(cli):
    """The law is public: no session needed (the scadenzario itself needs one)."""
    assert "LIPE" in ok(cli("scheduler", "rules", as_user=None)).stdout
    assert "Natale" in ok(cli("scheduler", "holidays", "2025", as_user=None)).stdout
    assert cli("scheduler", "list", as_user=None).exit_code == 7


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20))
def test_parse_month_reads_a_month_or_says_invalid_data(text):
    from sempi_cli.errors import InvalidData
    from sempi_cli.services.scheduler.views import parse_month

    try:
        first = parse_month(text, TODAY)
    except InvalidData as exc:
        assert exc.field == "--month"
    else:
        assert first.day == 1 and 1950 <= first.year <= 2100


@pytest.mark.parametrize(
    ("text", "month"),
    [("2026-5", "2026-05"), ("05/2026", "2026-05"), ("Maggio 2026", "2026-05"), ("dic", "2025-12"),
     ("june", "2025-06"), ("mese scorso", "2025-05"), ("+1m", "2025-07"), ("31/01/2026", "2026-01")],
)  # fmt: skip
def test_parse_month_forms(text, month):
    from sempi_cli.services.scheduler.views import parse_month

    assert parse_month(text, TODAY).strftime("%Y-%m") == month


def test_force_replaces_regular_files_only(cli, world, tmp_path):
    """--force on a device, a pipe or a link would swap it for a regular file
    (a device node under /dev, a link pointing elsewhere): refused, left as it was."""
    tmp_path = tmp_path / "feeds"
    tmp_path.mkdir()
    fifo = tmp_path / "pipe.ics"
    os.mkfifo(fifo)
    target = tmp_path / "real.ics"
    target.write_text("old")
    link = tmp_path / "link.ics"
    link.symlink_to(target)
    folder = tmp_path / "dir.ics"
    folder.mkdir()
    for path, words in (
        (fifo, "not a regular file"),
        (link, "not a regular file"),
        (folder, "a folder"),
    ):
        result = cli("scheduler", "export", "--ics", str(path), "--force")
        assert_one_line_error(result, 6, "--ics", words)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and link.is_symlink() and folder.is_dir()
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "dir.ics",
        "link.ics",
        "pipe.ics",
        "real.ics",
    ]
