"""`sempi scheduler` views: list (the scadenzario), calendar, explain, export, rules, holidays."""

from __future__ import annotations

from typing import Annotated

import typer

from sempi_cli.cli.common import emit_record, emit_rows, say, state
from sempi_cli.cli.scheduler.group import app
from sempi_cli.i18n import gettext as _
from sempi_cli.i18n import ngettext, pgettext

Client = Annotated[int | None, typer.Option("--client", "-c", help="Of this client (id).")]
Studio = Annotated[
    str | None, typer.Option("--studio", help="Of this practice's clients (id or name).")
]
Responsible = Annotated[
    str | None,
    typer.Option("--responsible", "-r", help="Whose task it is (e-mail or user id)."),
]
Mine = Annotated[bool, typer.Option("--mine", help="Only deadlines whose task is yours.")]
Rule = Annotated[
    str | None,
    typer.Option("--rule", help="One rule: LIPE, IVA-M, BOLLO... (see 'scheduler rules')."),
]
Period = Annotated[
    str | None, typer.Option("--period", help="One period: 2026-05, 2026-Q2, 2026, 2026-R1.")
]
Status = Annotated[
    list[str] | None,
    typer.Option(
        "--status",
        "-s",
        help="upcoming, overdue, done, cancelled; repeat it (default: all but cancelled).",
    ),
]
From = Annotated[
    str | None,
    typer.Option("--from", help="Due on or after: 2026-05-01, 01/05/2026, today, -30d..."),
]
To = Annotated[
    str | None, typer.Option("--to", help="Due on or before: 2026-06-30, 30/06/2026, eoq, +3m...")
]
Limit = Annotated[int | None, typer.Option("--limit", "-n", min=1, help="At most this many.")]


def _query(**filters: object):
    from sempi_cli.services.scheduler.views import DeadlineQuery

    statuses = filters.pop("statuses", None) or []
    return DeadlineQuery(statuses=list(statuses), **filters)  # type: ignore[arg-type]


def _table_rows(rows: list[dict]) -> list[dict]:
    """On a terminal: the client and responsible in short, a moved date flagged (and
    written as people read it: the flag keeps the table from seeing a date)."""
    from sempi_cli.output import for_people

    return [
        {
            **r,
            "due_date": f"{for_people(r['due_date'])}"
            + (" *" if r["due_date"] != r["nominal_date"] else ""),
            "client": f"{r['client']} ({r['client_id']})",
        }
        for r in rows
    ]


@app.command("list")
def scheduler_list(
    ctx: typer.Context,
    client: Client = None,
    studio: Studio = None,
    responsible: Responsible = None,
    mine: Mine = False,
    rule: Rule = None,
    period: Period = None,
    start: From = None,
    end: To = None,
    status: Status = None,
    limit: Limit = None,
) -> None:
    """List the fiscal deadlines you may see (the scadenzario), by due date.

    A due date marked '*' was moved from its nominal day (weekend, holiday,
    August, extension): 'sempi scheduler explain' says why. Overdue: the task's
    deadline has passed and the task is not completed.

    Example: sempi scheduler list --client 12 --from today --to eoq
    """
    from sempi_cli.services.scheduler.views import LIST_COLUMNS, ROW_FIELDS, ScheduleViews

    query = _query(
        client=client,
        studio=studio,
        responsible=responsible,
        mine=mine,
        rule=rule,
        period=period,
        start=start,
        end=end,
        statuses=status,
        limit=limit,
    )
    rows = state(ctx).service(ScheduleViews).list(query)
    if state(ctx).fmt == "table":
        emit_rows(ctx, _table_rows(rows), LIST_COLUMNS)
        overdue = sum(r["status"] == "overdue" for r in rows)
        n = len(rows)
        summary = ngettext(
            "{n} deadline(s), {overdue} overdue.", "{n} deadline(s), {overdue} overdue.", n
        )
        say(ctx, summary.format(n=n, overdue=overdue))
    else:
        emit_rows(ctx, rows, ROW_FIELDS)


@app.command("calendar")
def scheduler_calendar(
    ctx: typer.Context,
    month: Annotated[
        str | None,
        typer.Option(
            "--month", "-m", help="2026-05, 05/2026, maggio 2026, next month (default: this one)."
        ),
    ] = None,
    client: Client = None,
    studio: Studio = None,
    responsible: Responsible = None,
    mine: Mine = False,
    rule: Rule = None,
    status: Status = None,
    weeks: Annotated[
        bool,
        typer.Option("--weeks/--no-weeks", help="Begin each row with its ISO week number."),
    ] = True,
) -> None:
    """Show a month as a calendar grid with the deadlines of each day, then list them.

    Each row begins with its ISO week number ('sett.'), each day shows how
    many deadlines fall due on it, and '*' marks a national holiday.
    --format json gives every day with its ISO week, holiday and deadlines.

    Example: sempi scheduler calendar --month 2026-06 --mine
    """
    from sempi_cli.services.scheduler.views import ROW_FIELDS, ScheduleViews

    query = _query(
        client=client, studio=studio, responsible=responsible, mine=mine, rule=rule, statuses=status
    )
    result = state(ctx).service(ScheduleViews).month(query, month)
    fmt = state(ctx).fmt
    if fmt in ("csv", "excel"):
        emit_rows(ctx, [r for d in result["days"] for r in d["deadlines"]], ROW_FIELDS)
    elif fmt != "table":
        emit_record(ctx, result)
    else:
        typer.echo(_month_text(result, weeks=weeks))


def _day(iso: str, english: str) -> str:
    """A day for people: *english* (ISO and the weekday, as it always was) in English;
    in Italian the day named (sabato 31 maggio 2025)."""
    from datetime import date

    from sempi_cli.i18n import current, day_named

    return english if current() == "en" else day_named(date.fromisoformat(iso))


WEEK_HEADER = "sett."  # settimana: the ISO week, as the portals' planners number it


def _month_text(result: dict, *, weeks: bool = True) -> str:
    """The grid (Monday first, like `cal` in Italy), each row led by its ISO week
    unless *weeks* is false, then the legend and the days' deadlines."""
    from datetime import date

    width = 8  # " 16*[12]": the day right-aligned in 3, the holiday mark, the count
    lead = len(WEEK_HEADER) + 1 if weeks else 0
    days = result["days"]
    lines = [(" " * lead + result["name"].center(width * 7)).rstrip()]
    names = ("lu", "ma", "me", "gi", "ve", "sa", "do")
    header = "".join(f"{name:>3}".ljust(width) for name in names)
    lines.append(((f"{WEEK_HEADER} " if weeks else "") + header).rstrip())
    first = date.fromisoformat(days[0]["date"])
    cells = [" " * width] * first.weekday()
    row_weeks = []  # a row is Monday to Sunday: one ISO week, whichever day names it
    for day in days:
        if not row_weeks or len(cells) % 7 == 0:
            row_weeks.append(day["iso_week"])
        mark = "*" if day["holiday"] else " "
        count = f"[{day['count']}]" if day["count"] else ""
        cells.append(f"{int(day['date'][8:]):>3}{mark}{count}".ljust(width))
    for row, week in enumerate(range(0, len(cells), 7)):
        number = f"{row_weeks[row]:>{lead - 1}} " if weeks else ""
        lines.append((number + "".join(cells[week : week + 7])).rstrip())
    lines.append("")
    if weeks:
        legend = _("{header} ISO week (ISO 8601: from Monday; week 1 holds 4 January)")
        lines.append(legend.format(header=WEEK_HEADER))
    lines.append(_("[n] deadlines due that day   * national holiday (a deadline there moves on)"))
    for day in days:
        if day["holiday"]:
            named = _day(day["date"], f"{day['date']} {day['weekday']}")
            lines.append(f"  {named}: {day['holiday']}")
    if not result["total"]:
        lines.append("")
        lines.append(_("No deadlines in {month}.").format(month=result["name"]))
        return "\n".join(lines)
    for day in days:
        if not day["deadlines"]:
            continue
        lines.append("")
        named = _day(day["date"], f"{day['date']} {day['weekday']}")
        lines.append(f"{named} ({day['count']})")
        rules = max(len(r["rule_id"]) for r in day["deadlines"])
        periods = max(len(r["period"]) for r in day["deadlines"])
        for r in day["deadlines"]:
            task = _("task {task}, {status}").format(task=r["task_id"], status=_status(r["status"]))
            lines.append(
                f"  {r['rule_id'].ljust(rules)}  {r['period'].ljust(periods)}  {r['client']}"
                f" ({r['client_id']})  {task}"
            )
    return "\n".join(lines)


@app.command("explain")
def scheduler_explain(
    ctx: typer.Context,
    client_id: Annotated[int, typer.Argument(help="The client's id.")],
    rule: Annotated[str, typer.Argument(help="The rule's id: LIPE, IVA-M, BOLLO...")],
    period: Annotated[str, typer.Argument(help="The period: 2026-05, 2026-Q2, 2026, 2026-R1.")],
) -> None:
    """Explain why a client has a deadline and why it falls on its day.

    Shows the rule and the profile values it reads, the nominal date, each
    move (weekend, holiday, August rule, extension) with its reason, the legal
    basis, and the task if the scheduler made one.

    Example: sempi scheduler explain 12 LIPE 2025-Q1
    """
    from sempi_cli.services.scheduler.views import ScheduleViews

    table = state(ctx).fmt == "table"
    result = state(ctx).service(ScheduleViews).explain(client_id, rule, period, for_people=table)
    if not table:
        emit_record(ctx, result)
    else:
        typer.echo(_explain_text(result))


def _status(value: str) -> str:
    """A deadline's or a task's status as people read it ("scaduta", "in corso"), as
    tables show it (output.VALUE_WORDS); English keeps the value (in_progress)."""
    return pgettext("status", value)


def _explain_text(r: dict) -> str:
    from datetime import date

    from sempi_cli.services.scheduler.config import Day
    from sempi_cli.services.scheduler.views import WEEKDAYS_IT, profile_value

    def day(iso: str) -> str:
        return _day(iso, f"{iso} ({WEEKDAYS_IT[date.fromisoformat(iso).weekday()]})")

    profile = ", ".join(f"{k}={profile_value(v)}" for k, v in r["profile"].items())
    rows: list[tuple[str, str]] = [
        (_("Rule:"), r["label"]),
        (_("Applies to:"), r["who"]),
        (
            _("Profile:"),
            profile or _("(the rule reads no profile field: it applies to everyone)"),
        ),
        (_("Nominal date:"), day(r["nominal_date"])),
    ]
    if r["shifts"]:
        for n, s in enumerate(r["shifts"]):
            rows.append(
                (
                    _("Moved:") if n == 0 else "",
                    f"{Day(s['from'])} -> {Day(s['to'])}: {s['reason']}",
                )
            )
    else:
        rows.append((_("Moved:"), _("no (a working day)")))
    rows.append((_("Due date:"), day(r["due_date"])))
    rows.append((_("Extension:"), r["override_reason"] or _("none")))
    rows.append((_("Legal basis:"), r["legal_basis"]))
    if r["task_id"] is not None:
        task = _("{task} ({task_status}, responsible {responsible}): {status}").format(
            task=r["task_id"],
            task_status=_status(r["task_status"]),
            responsible=r["responsible"] or "-",
            status=_status(r["status"]),
        )
        rows.append((_("Task:"), task))
    else:
        rows.append((_("Task:"), _("none yet")))
    rows.extend((_("Note:"), note) for note in r["notes"])
    width = max(len(label) for label, _text in rows) + 1  # 14 in English
    title = _("{rule} {period} for {client} (client {client_id})").format(
        rule=r["rule_id"], period=r["period_name"], client=r["client"], client_id=r["client_id"]
    )
    return "\n".join([title, *(f"{label:<{width}}{text}" for label, text in rows)])


@app.command("export")
def scheduler_export(
    ctx: typer.Context,
    ics: Annotated[
        str,
        typer.Option(
            "--ics",
            help="The .ics file to create (mode 0600), or - for standard output.",
        ),
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Replace the file if it exists (a calendar feed).")
    ] = False,
    client: Client = None,
    studio: Studio = None,
    responsible: Responsible = None,
    mine: Mine = False,
    rule: Rule = None,
    start: From = None,
    end: To = None,
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            "-s",
            help="upcoming, overdue, done, cancelled; repeat it (default: all of them).",
        ),
    ] = None,
) -> None:
    """Export deadlines as an iCalendar (.ics) file for any calendar app.

    One all-day event per deadline. Importing a newer export updates the
    events (stable UIDs) and removes cancelled deadlines (STATUS:CANCELLED).

    Example: sempi scheduler export --ics scadenze.ics --mine --from today
    """
    from sempi_cli.services.scheduler.views import ScheduleViews

    query = _query(
        client=client,
        studio=studio,
        responsible=responsible,
        mine=mine,
        rule=rule,
        start=start,
        end=end,
        statuses=status,
    )
    text = state(ctx).service(ScheduleViews).ics(query)  # all checks before any file
    if ics == "-":
        typer.echo(text, nl=False)
        return
    events = text.count("BEGIN:VEVENT")
    if force:
        _replace_private(ics, text)
    else:
        _write_new(ics, text)
    exported = ngettext(
        "Exported {n} deadline to {file} (readable only by you).",
        "Exported {n} deadlines to {file} (readable only by you).",
        events,
    )
    say(ctx, exported.format(n=events, file=ics))


def _write_new(path: str, text: str) -> None:
    from sempi_cli.cli.common import write_private
    from sempi_cli.errors import Conflict, InvalidData

    try:
        write_private(path, lambda fh: fh.write(text))
    except Conflict:
        raise Conflict(
            _("{path} already exists").format(path=path), _("add --force to replace it")
        ) from None
    except InvalidData as exc:  # the helper names its usual option
        raise InvalidData("--ics", exc.problem) from None


def _replace_private(path: str, text: str) -> None:
    """Write a whole new owner-only file beside *path*, then rename it over it: a
    calendar app reading the feed sees the old file or the new one, never half."""
    import os
    import stat
    import tempfile

    from sempi_cli.errors import InvalidData

    folder = os.path.dirname(os.path.abspath(path))
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise InvalidData(
            "--ics", _("cannot read {path}: {reason}").format(path=path, reason=exc.strerror)
        ) from None
    # --force replaces a calendar feed, never a device, a pipe, a socket or a link.
    if mode is not None and not stat.S_ISREG(mode):
        problem = (
            _("{path} is a folder") if stat.S_ISDIR(mode) else _("{path} is not a regular file")
        )
        raise InvalidData(
            "--ics", problem.format(path=path), _("--force replaces regular files only")
        )
    try:
        fd, temp = tempfile.mkstemp(prefix=".sempi-", suffix=".ics", dir=folder)  # mode 0600
    except FileNotFoundError:
        raise InvalidData(
            "--ics", _("the folder of {path} does not exist").format(path=path)
        ) from None
    except OSError as exc:
        raise InvalidData(
            "--ics",
            _("cannot write in {folder}: {reason}").format(folder=folder, reason=exc.strerror),
        ) from None
    try:
        with open(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


@app.command("rules")
def scheduler_rules(ctx: typer.Context) -> None:
    """List the fiscal rules the scheduler applies, with their legal basis.

    Example: sempi scheduler rules --json
    """
    from sempi_cli.services.scheduler.views import rules_table

    rows = rules_table()
    if state(ctx).fmt == "table":
        columns = ("id", "label", "who", "cadence", "august_rule", "lead_days", "legal_basis")
        emit_rows(ctx, rows, columns)
    else:
        emit_rows(ctx, rows, list(rows[0]))


@app.command("holidays")
def scheduler_holidays(
    ctx: typer.Context,
    year: Annotated[int, typer.Argument(help="The year, 1950 to 2100.")],
) -> None:
    """List the national holidays of a year that move fiscal deadlines.

    Patron saints are not among them: fiscal deadlines are national.

    Example: sempi scheduler holidays 2026
    """
    from sempi_cli.services.scheduler.views import holidays_of

    emit_rows(ctx, holidays_of(year), ("date", "weekday", "name"))
