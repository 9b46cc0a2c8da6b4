"""The rules at work, called for every event in the writer's transaction when its
kind has enabled rules (reactor.py reads them at each write, and imports this
module only then).

- The rules are filed by their first condition (conditions.Matcher), kept while
  they stay as they are; each event is matched against them.
- A rule whose conditions hold runs its action as the rule's creator (a firm
  administrator: a rule acts for the firm, and its effects say who set it up),
  under ``event_log.caused_by``: the events the action writes name the event that
  set it off and are one step deeper.
- No loops: an event at ``event_log.MAX_DEPTH`` runs no rule; the stop is written
  to the activity log (``automation_stopped``) and logged at error level on the
  ``sempi_cli.automation`` logger (silent on a terminal unless logging is set up).
- An action that fails (a SempiError: no signer, a template removed since, a
  creator no longer administrator) never undoes the person's change: each action
  runs in a savepoint, undone alone; the failure is written to the activity log
  (``automation_failed``) and the rule's creator is told in their inbox.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Mapping
from types import ModuleType

from sempi_cli.clock import Clock, iso_utc
from sempi_cli.errors import RuleViolation, SempiError
from sempi_cli.i18n import Text
from sempi_cli.i18n import gettext as _
from sempi_cli.services import audit, event_log
from sempi_cli.services.access import Actor
from sempi_cli.services.automation import conditions
from sempi_cli.services.automation.lookup import Rules
from sempi_cli.store import write_transaction


def reactor(rules: Rules) -> Callable[..., None]:
    """The reaction to a write's events of one kind, whose enabled ``rules``
    (reactor.py read them) are matched against each event."""
    matcher = _matcher(rules)

    def react(
        db: sqlite3.Connection, clock: Clock, actor: Actor | None, event: Mapping[str, object]
    ) -> None:
        """Run the rules the event sets off (module docstring)."""
        matching = [_rule(db, rule_id) for rule_id in matcher.matching(event)]
        if not matching:
            return
        depth = _depth(event)
        if depth >= event_log.MAX_DEPTH:
            _stopped(db, clock, matching, event, depth)
            return
        for rule in matching:
            run_rule(db, clock, rule, event, depth)

    return react


def _actions() -> ModuleType:
    """The actions, and every domain they act through, imported when a rule first
    acts: matching events against rules whose conditions do not hold needs none."""
    from sempi_cli.services.automation import actions

    return actions


def _rule(db: sqlite3.Connection, rule_id: int) -> sqlite3.Row:
    return db.execute("SELECT * FROM automation_rules WHERE id = ?", (rule_id,)).fetchone()


@functools.lru_cache(maxsize=64)
def _matcher(rules: Rules) -> conditions.Matcher[int]:
    """The matcher of rules (id, stored conditions), kept while they stay as they are:
    a command writing one event reads its kind's rules, not parses them again."""
    return conditions.Matcher((rule_id, conditions.load(stored)) for rule_id, stored in rules)


def _depth(event: Mapping[str, object]) -> int:
    origin = event.get("origin")
    return int(origin["depth"]) if isinstance(origin, Mapping) else 0


def _creator(db: sqlite3.Connection, rule: sqlite3.Row) -> tuple[sqlite3.Row | None, Actor | None]:
    """The rule's creator, and the actor its action runs as while they are still an
    active firm administrator (None otherwise)."""
    from sempi_cli.services.identity.accounts import actor_from_row

    row = db.execute("SELECT * FROM users WHERE id = ?", (rule["created_by"],)).fetchone()
    if row is None or row["disabled_at"] is not None or row["role"] != "firm-admin":
        return row, None
    return row, actor_from_row(row, via="automation")


def run_rule(
    db: sqlite3.Connection,
    clock: Clock,
    rule: sqlite3.Row,
    event: Mapping,
    depth: int,
    *,
    raising: bool = False,
) -> dict:
    """Run one rule's action for the event in a savepoint; what it did, or
    {"error": why} once the failure is recorded (``raising``: the error itself,
    for `automation test`)."""
    creator, actor = _creator(db, rule)
    try:
        if actor is None:
            raise RuleViolation(
                _("the rule's creator is no longer an active firm administrator"),
                _("add the rule again as a firm administrator"),
            )
        with write_transaction(db), event_log.caused_by(int(event["id"]), depth):
            outcome = _actions().run(db, clock, actor, rule, event)
            audit.record(db, iso_utc(clock.now()), actor.id, "automation_run",
                         "automation_rule", rule["id"],
                         {"rule": rule["name"], "event": event["id"], "outcome": outcome})  # fmt: skip
        return outcome
    except SempiError as exc:
        if raising:
            raise
        _failed(db, clock, rule, event, creator, str(exc))
        return {"error": str(exc)}


def _failed(
    db: sqlite3.Connection,
    clock: Clock,
    rule: sqlite3.Row,
    event: Mapping,
    creator: sqlite3.Row | None,
    why: str,
) -> None:
    """Record a failed action and tell the rule's creator."""
    from sempi_cli.services.identity.accounts import actor_from_row
    from sempi_cli.services.notify.centre import NotificationService

    creator_id = creator["id"] if creator is not None else None
    audit.record(db, iso_utc(clock.now()), creator_id, "automation_failed", "automation_rule",
                 rule["id"], {"rule": rule["name"], "event": event["id"], "error": why})  # fmt: skip
    if creator is None or creator["disabled_at"] is not None:
        return
    text = Text(
        "Automation rule '{rule}' could not act on event {event} ({kind}): {why}",
        rule=rule["name"], event=event["id"], kind=event["kind"], why=why,
    )  # fmt: skip
    try:
        with write_transaction(db):
            NotificationService(db, clock, actor_from_row(creator, via="automation")).notify(
                creator["id"], "task", text, f"automation-failed:{rule['id']}:{event['id']}"
            )
    except SempiError:  # the person turned the kind off in a way notify refuses: the log has it
        pass


def _stopped(
    db: sqlite3.Connection, clock: Clock, rules: list[sqlite3.Row], event: Mapping, depth: int
) -> None:
    import logging  # here: a stop is rare, and logging costs a command 5 ms to import

    log = logging.getLogger("sempi_cli.automation")
    if not log.handlers:  # a library's logger: the program decides where it goes
        log.addHandler(logging.NullHandler())
    names = [r["name"] for r in rules]
    log.error(
        "automation stopped: event %s (%s) is %s steps deep in a chain of rules; not run: %s",
        event["id"], event["kind"], depth, ", ".join(names),
    )  # fmt: skip
    origin = event.get("origin")
    audit.record(db, iso_utc(clock.now()), None, "automation_stopped", "event", int(event["id"]),
                 {"kind": event["kind"], "depth": depth, "rules": names,
                  "origin": origin["event"] if isinstance(origin, Mapping) else None})  # fmt: skip
