"""`sempi client-onboard`: onboard one client (add) or a file of them (batch)."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Annotated

import typer

from sempi_cli.cli.client.options import (
    ClientId,
    CodiceFiscale,
    Email,
    Kind,
    Name,
    Nickname,
    PartitaIva,
    Pec,
    Profile,
    Responsible,
    Smart,
    Studio,
    client_input,
)
from sempi_cli.cli.common import (
    confirm,
    data_language,
    emit_record,
    emit_rows,
    group_app,
    say,
    state,
)
from sempi_cli.i18n import N_, current, ngettext, pgettext, speaking
from sempi_cli.i18n import gettext as _

app = group_app("client-onboard")

# What a person reads of a batch's rows; scripts (csv, jsonl, --report) get REPORT_COLUMNS.
ROW_COLUMNS = ("where", "action", "client_id", "ragione_sociale", "field", "problem", "changes")
REPORT_COLUMNS = (
    "line", "index", "action", "client_id", "ragione_sociale", "partita_iva",
    "codice_fiscale", "field", "problem", "changes",
)  # fmt: skip

DryRun = Annotated[
    bool,
    typer.Option(
        "--dry-run", help="Do everything in a transaction that is rolled back; report it."
    ),
]
Deadlines = Annotated[
    bool,
    typer.Option(
        "--deadlines/--no-deadlines",
        help="Generate the deadlines for the scheduler's horizon (12 months from today).",
    ),
]


@app.command("add")
def onboard_add(
    ctx: typer.Context,
    name: Name,
    studio: Studio = None,
    kind: Kind = "societa_capitali",
    codice_fiscale: CodiceFiscale = None,
    partita_iva: PartitaIva = None,
    email: Email = None,
    pec: Pec = None,
    nickname: Nickname = None,
    responsible: Responsible = None,
    smart: Smart = None,
    profile: Profile = None,
    practice_users: Annotated[
        str,
        typer.Option(
            "--practice-users",
            help="all: every active user of the practice joins the work group; none: nobody.",
        ),
    ] = "all",
    external: Annotated[
        list[str] | None,
        typer.Option(
            "--external",
            "-x",
            help="A person of the client's, 'Nome Cognome <email>': an external user, invited by e-mail; repeat it.",
        ),
    ] = None,
    module: Annotated[
        list[str] | None,
        typer.Option(
            "--module",
            "-m",
            help="Modules the client uses: tasks, documents, chat, smart; repeat it or separate them with commas (default: all).",
        ),
    ] = None,
    delegation: Annotated[
        list[str] | None,
        typer.Option(
            "--delegation",
            help="A delegation in place, KIND:REFERENCE:VALID_UNTIL (e.g. cassetto_fiscale:AB12345:2027-12-31); repeat it. Never a password.",
        ),
    ] = None,
    deadlines: Deadlines = True,
    dry_run: DryRun = False,
) -> None:
    """Onboard a client in one transaction: record, group, folders, invitations, deadlines.

    Example: sempi client-onboard add --name "Bianchi Srl" --studio "Studio Rossi" --piva 12345670017 -p iva_periodicity=mensile --external "Laura Bianchi <laura@bianchi.it>" --delegation cassetto_fiscale:AB12345:2027-12-31
    """
    from sempi_cli.services.onboarding import input as given
    from sempi_cli.services.onboarding.onboard import OnboardingService

    data = client_input(
        name,
        kind,
        codice_fiscale,
        partita_iva,
        email,
        pec,
        nickname,
        responsible,
        smart,
        profile,
        studio,
    )
    request = given.OnboardRequest(
        client=data,
        practice_users=given.practice_users(practice_users),
        externals=given.externals([given.external(x) for x in external or []]),
        modules=given.modules(module) if module else None,
        delegations=given.delegations([given.delegation(d) for d in delegation or []]),
        deadlines=deadlines,
    )
    report = state(ctx).service(OnboardingService).add(request, dry_run=dry_run)
    if state(ctx).fmt == "table":
        emit_record(ctx, _summary(report))
    else:
        emit_record(ctx, report)
    client = report["client"]
    if dry_run:
        say(
            ctx,
            _("Dry run: {name} would be onboarded; nothing was written.").format(
                name=client["ragione_sociale"]
            ),
        )
    else:
        say(
            ctx,
            _("Client {client} ({name}) onboarded.").format(
                client=client["id"], name=client["ragione_sociale"]
            ),
        )


def _day(iso: str) -> str:
    """A day in a sentence: as scripts and the English have it (ISO), dd/mm/yyyy in Italian."""
    from sempi_cli import i18n
    from sempi_cli.output import for_people

    return iso if i18n.current() == "en" else str(for_people(iso))


def _member(m: dict) -> str:
    """A member on one line of a table: the role in the reader's words (output.VALUE_WORDS)."""
    return f"{m['email']} ({pgettext('role', m['role'])})"


def _delegation(d: dict) -> str:
    """A delegation on one line of a table: its words in the reader's language."""
    if d["status"] == "valid":
        text = _("{kind} {reference} until {day} (valid)")
    elif d["status"] == "expired":
        text = _("{kind} {reference} until {day} (expired)")
    else:
        text = _("{kind} {reference} until {day} ({status})")
    return text.format(
        kind=d["kind"], reference=d["reference"], day=_day(d["valid_until"]), status=d["status"]
    )


def _summary(report: dict) -> dict:
    """One screen for a person; --format json has everything."""
    client = report["client"]
    deadlines = report["deadlines"]
    return {
        "client_id": client["id"],
        "ragione_sociale": client["ragione_sociale"],
        "codice_fiscale": client["codice_fiscale"],
        "partita_iva": client["partita_iva"],
        "studio": client["studio"],
        "responsible": client["responsible"],
        "members": [_member(m) for m in report["members"]],
        "folders": report["folders"],
        "modules": report["modules"],
        "delegations": [_delegation(d) for d in report["delegations"]],
        "invitations": [i["email"] for i in report["invitations"]],
        "deadlines": _deadlines(deadlines),
    }


def _deadlines(deadlines: dict | None) -> str:
    if deadlines is None:
        return _("not generated (--no-deadlines)")
    if deadlines["assigned_to_you"]:
        text = ngettext(
            "{n} from {start} to {end} (assigned to you: the client has no responsible)",
            "{n} from {start} to {end} (assigned to you: the client has no responsible)",
            deadlines["created"],
        )
    else:
        text = ngettext(
            "{n} from {start} to {end}", "{n} from {start} to {end}", deadlines["created"]
        )
    return text.format(
        n=deadlines["created"], start=_day(deadlines["from"]), end=_day(deadlines["to"])
    )


@app.command("batch")
def onboard_batch(
    ctx: typer.Context,
    file: Annotated[
        str,
        typer.Argument(
            help="A CSV file (header row; columns in docs/onboarding.md) or a JSON list of objects.",
            metavar="FILE",
        ),
    ],
    studio: Annotated[str, typer.Option("--studio", help="The practice: id or name.")],
    dry_run: DryRun = False,
    partial: Annotated[
        bool,
        typer.Option(
            "--partial",
            help="Write the good rows even if some are refused (exit 12 then); default: all or nothing.",
        ),
    ] = False,
    report_file: Annotated[
        str | None,
        typer.Option(
            "--report",
            help="Write every row's result to this file (CSV, for Excel with --excel; JSON if it ends in .json; mode 0600); the refused rows are then listed there, not on the screen.",
        ),
    ] = None,
    delimiter: Annotated[
        str | None,
        typer.Option(
            "--delimiter", help="The CSV delimiter, ; or , (default: read from the header)."
        ),
    ] = None,
    encoding: Annotated[
        str,
        typer.Option(
            "--encoding",
            help="The file's encoding: utf-8 (with or without BOM), cp1252 (Excel's plain CSV on Windows), latin-1, ...",
        ),
    ] = "utf-8",
    deadlines: Deadlines = True,
) -> None:
    """Onboard every client of a CSV or JSON file, all rows checked first; safe to re-run.

    Example: sempi client-onboard batch clienti.csv --studio "Studio Rossi" --dry-run
    """
    from sempi_cli.services.onboarding.batch import BatchService, needs_confirmation
    from sempi_cli.services.onboarding.batch_file import BatchFile

    app_state = state(ctx)
    source = BatchFile(file, encoding=encoding, delimiter=delimiter)
    service = app_state.service(BatchService, long_job=True)
    # A bad path: refused before any write.
    pending = _ReportFile(report_file, app_state.fmt) if report_file else None
    bar = _ProgressBar() if sys.stderr.isatty() and not app_state.quiet else None

    person = current()

    def ask(counts: dict) -> None:
        if not needs_confirmation(counts):
            return
        if bar:
            bar.clear()
        with speaking(person):
            confirm(
                ctx,
                ngettext(
                    "Onboard {n} new client(s) and update {updated} in practice {studio}?",
                    "Onboard {n} new client(s) and update {updated} in practice {studio}?",
                    counts["created"],
                ).format(n=counts["created"], updated=counts["updated"], studio=studio),
            )

    with data_language(ctx):  # the report's problems: English for scripts
        report = service.run(
            source,
            studio=studio,
            dry_run=dry_run,
            partial=partial,
            deadlines=deadlines,
            progress=bar.show if bar else None,
            confirm=None if dry_run else ask,
        )
    if bar:
        bar.clear()
    if pending:
        pending.write(report["results"])
    _emit(ctx, report, refused_to_file=pending is not None)
    say(ctx, _summary_line(report))
    if report["refused"]:
        raise _refused(source.path.name, report, partial=partial, report_file=report_file)


def _refused(name: str, report: dict, *, partial: bool, report_file: str | None) -> Exception:
    """The error that ends a batch with refused rows: all or nothing (exit 6), or
    --partial (exit 12), saying what was written."""
    from sempi_cli.errors import InvalidData, PartlyDone
    from sempi_cli.services.onboarding.input import result_where

    first = next(r for r in report["results"] if r["action"] == "refused")
    message = ngettext(
        "{refused} of {n} row(s) refused (first: {where}, {field}: {problem})",
        "{refused} of {n} row(s) refused (first: {where}, {field}: {problem})",
        report["rows"],
    ).format(
        refused=report["refused"],
        n=report["rows"],
        where=result_where(first),
        field=first["field"],
        problem=first["problem"],
    )
    if not partial:
        hint = (
            _(
                "fix them and run again, or add --partial to write the good rows"
                " (every row in {file})"
            )
            if report_file
            else _("fix them and run again, or add --partial to write the good rows")
        )
        return InvalidData(
            name,
            _("{message}; nothing was written").format(message=message),
            hint.format(file=report_file),
        )
    if report["refused"] == report["rows"]:
        done = _("{file}: {message}; no row was written")
    elif report["dry_run"]:
        done = _("{file}: {message}; the other rows were checked (dry run)")
    else:
        done = _("{file}: {message}; the other rows were written")
    hint = (
        _("fix them and run the same file again (every row in {file})")
        if report_file
        else _("fix them and run the same file again")
    )
    return PartlyDone(done.format(file=name, message=message), hint.format(file=report_file))


def _emit(ctx: typer.Context, report: dict, *, refused_to_file: bool) -> None:
    """JSON: the whole report. csv/jsonl: a row per line of the file. Table: the rows a
    person must read: the updated ones are the result (stdout); the refused ones are
    what went wrong (stderr, or only the --report file when there is one)."""
    fmt = state(ctx).fmt
    if fmt == "json":
        emit_record(ctx, report)
        return
    if fmt != "table":
        emit_rows(ctx, report["results"], REPORT_COLUMNS)
        return
    _table(report["results"], "updated", err=False)
    if not refused_to_file:
        _table(report["results"], "refused", err=True)


def _table(results: list[dict], action: str, *, err: bool) -> None:
    from sempi_cli.output import render
    from sempi_cli.services.onboarding.input import result_where

    rows = [{**r, "where": result_where(r)} for r in results if r["action"] == action]
    if rows:
        typer.echo(render(rows, ROW_COLUMNS, "table"), err=err)


# A batch's rows by outcome, as the summary line counts them.
_OUTCOMES = {
    "created": lambda n: ngettext("{n} created", "{n} created", n),
    "updated": lambda n: ngettext("{n} updated", "{n} updated", n),
    "unchanged": lambda n: ngettext("{n} unchanged", "{n} unchanged", n),
    "refused": lambda n: ngettext("{n} refused", "{n} refused", n),
    "skipped": lambda n: ngettext("{n} skipped", "{n} skipped", n),
}


def _summary_line(report: dict) -> str:
    rows = report["rows"]
    if rows and report["refused"] == rows:
        return ngettext(
            "Checked {n} row(s); none written: {refused} refused.",
            "Checked {n} row(s); none written: {refused} refused.",
            rows,
        ).format(n=rows, refused=report["refused"])
    if report["skipped"]:
        template = ngettext("Checked {n} row(s): {parts}.", "Checked {n} row(s): {parts}.", rows)
    elif report["dry_run"]:
        template = ngettext(
            "Would onboard {n} row(s): {parts}.", "Would onboard {n} row(s): {parts}.", rows
        )
    else:
        template = ngettext(
            "Onboarded {n} row(s): {parts}.", "Onboarded {n} row(s): {parts}.", rows
        )
    parts = [
        _OUTCOMES[k](report[k]).format(n=report[k])
        for k in ("created", "updated", "unchanged", "refused", "skipped")
        if report[k] or k in ("created", "updated", "unchanged")
    ]
    line = template.format(n=rows, parts=", ".join(parts))
    deadlines = report["deadlines"]
    if deadlines is not None:
        if deadlines["ran"] or report["dry_run"]:
            line += " " + _("Deadlines {start}..{end}: {created}, {updated}, {unchanged}.").format(
                start=_day(deadlines["from"]),
                end=_day(deadlines["to"]),
                created=ngettext("{n} new", "{n} new", deadlines["created"]).format(
                    n=deadlines["created"]
                ),
                updated=ngettext("{n} moved", "{n} moved", deadlines["updated"]).format(
                    n=deadlines["updated"]
                ),
                unchanged=ngettext(
                    "{n} already there", "{n} already there", deadlines["unchanged"]
                ).format(n=deadlines["unchanged"]),
            )
        else:
            line += " " + _("Deadlines: all already there.")
    return line


class _ReportFile:
    """The --report file. Whether it can be written is found before the batch writes
    anything (a probe file beside it, removed at once); at the end the report goes to
    a temporary file (mode 0600: it names clients) that replaces the file whole. So a
    batch killed midway leaves no temporary file, and one killed in that last instant
    leaves one the next batch reporting there removes."""

    PREFIX = ".sempi-report-"
    STALE_AFTER = 600  # seconds: a report is written in well under a second

    def __init__(self, path: str, fmt: str = "csv") -> None:
        from sempi_cli.errors import InvalidData

        self.path = path
        # .json names JSON; any other name CSV, the Italian Excel's under --format excel.
        self.fmt = (
            "json" if path.lower().endswith(".json") else "excel" if fmt == "excel" else "csv"
        )
        if os.path.isdir(path):
            raise InvalidData(
                "--report", _("{file} is a folder: give a file name").format(file=path)
            )
        if os.path.islink(path) or (os.path.lexists(path) and not os.path.isfile(path)):
            # The report replaces a report; never a device, a pipe or a link.
            raise InvalidData(
                "--report", _("{file} is not a regular file: give a file name").format(file=path)
            )
        try:  # the name itself (too long?): the folder's probe below cannot tell
            os.lstat(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise InvalidData(
                "--report",
                _("cannot write {file}: {reason}").format(file=path, reason=exc.strerror),
            ) from None
        self.folder = os.path.dirname(os.path.abspath(path))
        try:
            os.unlink(self._temporary())
        except OSError as exc:
            raise InvalidData(
                "--report",
                _("cannot write in {folder}: {reason}").format(
                    folder=self.folder, reason=exc.strerror
                ),
            ) from None
        self._remove_stale()

    def _temporary(self) -> str:
        import tempfile

        fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=self.PREFIX)
        os.close(fd)
        return temporary

    def _remove_stale(self) -> None:
        import time

        cutoff = time.time() - self.STALE_AFTER
        with contextlib.suppress(OSError), os.scandir(self.folder) as entries:
            for entry in entries:
                if not entry.name.startswith(self.PREFIX):
                    continue
                with contextlib.suppress(OSError):
                    info = entry.stat(follow_symlinks=False)
                    if (
                        entry.is_file(follow_symlinks=False)
                        and info.st_uid == os.geteuid()
                        and info.st_mtime < cutoff
                    ):
                        os.unlink(entry.path)

    def write(self, results: list[dict]) -> None:
        from sempi_cli.output import line_end, render

        temporary = self._temporary()
        try:
            with open(temporary, "w", encoding="utf-8", newline="") as fh:
                fh.write(render(results, REPORT_COLUMNS, self.fmt) + line_end(self.fmt))
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise


class _ProgressBar:
    """A one-line bar on stderr (a terminal only), redrawn at most ten times a second."""

    WIDTH = 30
    LABELS = {"checking": N_("Checking"), "writing": N_("Writing"), "deadlines": N_("Deadlines")}

    def __init__(self) -> None:
        import time

        self._clock = time.monotonic
        self._last = 0.0
        self._shown = False

    def show(self, stage: str, done: int, total: int) -> None:
        now = self._clock()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        share = done / total if total else 1.0
        filled = int(share * self.WIDTH)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        label = _(self.LABELS[stage]) if stage in self.LABELS else stage
        if stage == "deadlines":
            text = _("{label}: generating...") if done < total else _("{label}: done")
            text = text.format(label=label)
        elif stage == "checking":
            text = f"{label:9} [{bar}] {share:4.0%}"
        else:
            text = f"{label:9} [{bar}] {done}/{total}"
        sys.stderr.write("\r" + text.ljust(60))
        sys.stderr.flush()
        self._shown = True

    def clear(self) -> None:
        if self._shown:
            sys.stderr.write("\r" + " " * 60 + "\r")
            sys.stderr.flush()
            self._shown = False


@app.command("show")
def onboard_show(
    ctx: typer.Context,
    client_id: ClientId,
) -> None:
    """Show who may see a client, its modules, its delegations and their status.

    Example: sempi client-onboard show 12
    """
    from sempi_cli.services.onboarding.onboard import OnboardingService

    record = state(ctx).service(OnboardingService).show(client_id)
    if state(ctx).fmt == "table":
        record = {
            **record,
            "members": [_member(m) for m in record["members"]],
            "delegations": [_delegation(d) for d in record["delegations"]],
        }
    emit_record(ctx, record)
