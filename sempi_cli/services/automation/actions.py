"""The built-in actions a rule may take (`--do ACTION`), each in two halves: ``check``
when the rule is added (everything it names must exist now: one line, nothing
written) and ``run`` when an event sets it off, as the rule's creator, inside the
writer's transaction (engine.py).

- notify (--to USER|role:ROLE ..., --message TEXT): a notification to each person
  named, or every active user of a role, who may see the event (the same rule as
  `sempi events list`); the others are skipped, silently: a rule does not leak.
- mail (--mail-template NAME --to client|responsible|USER [--message TEXT]): an
  e-mail from one of sempi's mail templates, queued in the outbox. ``client`` is the
  client's e-mail, ``responsible`` the responsible of the event's task (or the
  client's, for any other event). Only a template whose fields a rule can fill (the
  person's name and e-mail, the client, the event's title, the rule's message) and
  that carries no one-time code; ``notice`` is the rule's own words.
- task (--task-template NAME): the template's task for the event's client, now
  (as `task add --template`).
- set-responsible (--to USER): the event's task gets this responsible; for a
  deadline's event, the deadline's task. Only for events about a task or a
  deadline (refused at add otherwise: a client has many tasks).
- sign (--sign-template NAME): the template's document sent for signature to the
  client's active external users (as a task template's signing rule does).
- checklist (--task-template NAME [--checklist LIST]): the template's checklists
  (or only the one named) copied, open, onto the event's task: an office keeps its
  lists in its task templates. Events about a task or a deadline only.

Names (templates, users) are kept as typed and looked up again when the rule
runs: a template removed since makes the action fail, which engine.py records.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sempi_cli.clock import Clock
from sempi_cli.errors import InvalidData, NotFound, RuleViolation
from sempi_cli.i18n import Text
from sempi_cli.i18n import gettext as _
from sempi_cli.services import access, event_log
from sempi_cli.services.access import Actor
from sempi_cli.services.text import one_line

MESSAGE_LIMIT = 500

# The notification's kind (notify/kinds.py) for an event, by what it is about.
NOTIFY_KIND = {
    "task": "task", "deadline": "deadline", "client": "task", "document": "document",
    "chat": "mention", "consent": "consent", "coupon": "coupon", "sign": "signature",
}  # fmt: skip

# What a rule can put in a mail template (services/mail/templates.py).
MAIL_FIELDS = frozenset({"full_name", "email", "client", "client_id", "title", "message"})
MAIL_TO_WORDS = ("client", "responsible")


@dataclass
class ActionInput:
    """The action's options as typed (`automation add`)."""

    to: list[str] = field(default_factory=list)
    message: str | None = None
    mail_template: str | None = None
    task_template: str | None = None
    sign_template: str | None = None
    checklist: str | None = None

    def given(self) -> dict[str, object]:
        return {
            f"--{name.replace('_', '-')}": value
            for name, value in vars(self).items()
            if value not in (None, [])
        }


@dataclass(frozen=True)
class Action:
    options: tuple[str, ...]  # the options it takes
    required: tuple[str, ...]  # those it needs
    on_task: bool  # acts on the event's task: events about a task or a deadline only
    check: Callable[[sqlite3.Connection, Clock, Actor, ActionInput], dict]
    run: Callable[[sqlite3.Connection, Clock, Actor, dict, Mapping], dict]


# --- checks at add ------------------------------------------------------------------


def _user(db: sqlite3.Connection, actor: Actor, ref: str) -> sqlite3.Row:
    from sempi_cli.services.identity.accounts import find_user

    try:
        row = find_user(db, actor, ref)
    except NotFound:
        raise InvalidData("--to", _("user {user} not found").format(user=repr(ref))) from None
    if row["disabled_at"] is not None:
        raise InvalidData("--to", _("user {user} is disabled").format(user=row["email"]))
    return row


def _role(ref: str) -> str:
    role = ref.partition(":")[2].strip().lower()
    if role not in access.ROLES:
        raise InvalidData(
            "--to",
            _("{value} is not a role").format(value=repr(role)),
            _("use one of: {choices}").format(choices=", ".join(access.ROLES)),
        )
    return role


def _check_notify(db: sqlite3.Connection, clock: Clock, actor: Actor, given: ActionInput) -> dict:
    to = []
    for ref in given.to:
        ref = ref.strip()
        if ref.lower().startswith("role:"):
            to.append(f"role:{_role(ref)}")
        else:
            to.append(f"user:{_user(db, actor, ref)['id']}")
    message = None
    if given.message is not None:
        message = one_line(given.message, "--message", MESSAGE_LIMIT) or None
    return {"to": list(dict.fromkeys(to)), "message": message}


def _check_mail(db: sqlite3.Connection, clock: Clock, actor: Actor, given: ActionInput) -> dict:
    from sempi_cli.services.mail.templates import TEMPLATES

    name = (given.mail_template or "").strip()
    template = TEMPLATES.get(name)
    usable = sorted(
        n for n, t in TEMPLATES.items() if not t.secret and set(t.required) <= MAIL_FIELDS
    )
    if template is None:
        raise InvalidData(
            "--mail-template",
            _("there is no mail template {name}").format(name=repr(name)),
            _("a rule may use: {choices}").format(choices=", ".join(usable)),
        )
    if name not in usable:
        raise InvalidData(
            "--mail-template",
            _("the mail template {name} needs what a rule cannot give").format(name=repr(name)),
            _("a rule may use: {choices}").format(choices=", ".join(usable)),
        )
    if len(given.to) != 1:
        raise InvalidData("--to", _("an e-mail goes to one of: client, responsible, a user"))
    ref = given.to[0].strip()
    to = ref.lower() if ref.lower() in MAIL_TO_WORDS else f"user:{_user(db, actor, ref)['id']}"
    message = None
    if given.message is not None:
        message = one_line(given.message, "--message", MESSAGE_LIMIT) or None
    if "message" in template.required and message is None:
        raise InvalidData(
            "--message",
            _("the mail template {name} sends your words: give them").format(name=repr(name)),
        )
    return {"mail_template": name, "to": to, "message": message}


def _check_task(db: sqlite3.Connection, clock: Clock, actor: Actor, given: ActionInput) -> dict:
    return {"task_template": _task_template(db, clock, actor, given.task_template or "")["name"]}


def _task_template(db: sqlite3.Connection, clock: Clock, actor: Actor, name: str) -> sqlite3.Row:
    from sempi_cli.services.templates.templates import TemplateService

    try:
        return TemplateService(db, clock, actor).row(name)
    except NotFound as exc:
        raise InvalidData("--task-template", exc.message, exc.hint) from None


def _check_responsible(
    db: sqlite3.Connection, clock: Clock, actor: Actor, given: ActionInput
) -> dict:
    if len(given.to) != 1:
        raise InvalidData("--to", _("a task has one responsible: name one user"))
    user = _user(db, actor, given.to[0].strip())
    if user["role"] == "external":
        raise InvalidData(
            "--to",
            _("{user} is a client's user and cannot be responsible of a task").format(
                user=user["email"]
            ),
        )
    return {"to": f"user:{user['id']}"}


def _check_sign(db: sqlite3.Connection, clock: Clock, actor: Actor, given: ActionInput) -> dict:
    from sempi_cli.services.signing.templates import SignTemplates

    try:
        template = SignTemplates(db, clock, actor).row(given.sign_template or "")
    except NotFound as exc:
        raise InvalidData("--sign-template", exc.message, exc.hint) from None
    return {"sign_template": template["name"]}


def _check_checklist(
    db: sqlite3.Connection, clock: Clock, actor: Actor, given: ActionInput
) -> dict:
    template = _task_template(db, clock, actor, given.task_template or "")
    lists = [spec["name"] for spec in json.loads(template["checklists"] or "[]")]
    if not lists:
        raise InvalidData(
            "--task-template",
            _("the task template {name} has no checklist").format(name=repr(template["name"])),
        )
    wanted = None
    if given.checklist is not None:
        wanted = next((n for n in lists if n.lower() == given.checklist.strip().lower()), None)
        if wanted is None:
            raise InvalidData(
                "--checklist",
                _("the task template {name} has no checklist {checklist}").format(
                    name=repr(template["name"]), checklist=repr(given.checklist)
                ),
                _("it has: {choices}").format(choices=", ".join(lists)),
            )
    return {"task_template": template["name"], "checklist": wanted}


# --- running ------------------------------------------------------------------------


def _user_row(db: sqlite3.Connection, ref: str) -> sqlite3.Row:
    """A user a rule names (``user:ID``), still there and enabled."""
    row = db.execute(
        "SELECT * FROM users WHERE id = ? AND disabled_at IS NULL", (int(ref.partition(":")[2]),)
    ).fetchone()
    if row is None:
        raise RuleViolation(_("the user the rule names is disabled or gone"))
    return row


def _sees(db: sqlite3.Connection, user: sqlite3.Row, event_id: int) -> bool:
    """Whether ``user`` may read the event (and so what it is about)."""
    from sempi_cli.services.identity.accounts import actor_from_row

    where, params = event_log.visible(actor_from_row(user), "e")
    return (
        db.execute(
            f"SELECT 1 FROM events e WHERE e.id = :event AND {where}", {**params, "event": event_id}
        ).fetchone()
        is not None
    )


def _object(event: Mapping) -> str:
    return f"{event['object']['type']} {event['object']['id']}"


def _run_notify(
    db: sqlite3.Connection, clock: Clock, actor: Actor, params: dict, event: Mapping
) -> dict:
    from sempi_cli.services.notify.centre import NotificationService

    users: dict[int, sqlite3.Row] = {}
    for ref in params["to"]:
        if ref.startswith("role:"):
            for row in db.execute(
                "SELECT * FROM users WHERE role = ? AND disabled_at IS NULL ORDER BY id",
                (ref.partition(":")[2],),
            ):
                users.setdefault(row["id"], row)
        else:
            row = db.execute(
                "SELECT * FROM users WHERE id = ? AND disabled_at IS NULL",
                (int(ref.partition(":")[2]),),
            ).fetchone()
            if row is not None:
                users.setdefault(row["id"], row)
    kind = NOTIFY_KIND.get(event["kind"].partition(".")[0], "task")
    rule = params["rule"]
    if params.get("message"):
        text = Text(
            "{message} (rule '{rule}', {kind} on {object})",
            message=params["message"], rule=rule, kind=event["kind"], object=_object(event),
        )  # fmt: skip
    else:
        text = Text(
            "Rule '{rule}': {kind} on {object}", rule=rule, kind=event["kind"],
            object=_object(event),
        )  # fmt: skip
    task_id = event["object"]["id"] if event["object"]["type"] == "task" else None
    centre = NotificationService(db, clock, actor)
    told = []
    for user in users.values():
        if not _sees(db, user, event["id"]):
            continue
        source = f"automation:{params['rule_id']}:{event['id']}:{user['id']}"
        if centre.notify(user["id"], kind, text, source, task_id=task_id) is not None:
            told.append(user["email"])
    return {"notified": told}


def _client(db: sqlite3.Connection, event: Mapping) -> sqlite3.Row:
    if event["client_id"] is None:
        raise RuleViolation(_("the event is about no client"))
    row = db.execute("SELECT * FROM clients WHERE id = ?", (event["client_id"],)).fetchone()
    if row is None:
        raise RuleViolation(_("the event's client is gone"))
    return row


def _task_id(db: sqlite3.Connection, event: Mapping) -> int:
    """The event's task: its object, or a deadline's task."""
    kind, object_id = event["object"]["type"], event["object"]["id"]
    if kind == "task" and object_id is not None:
        return int(object_id)
    if kind == "deadline" and object_id is not None:
        row = db.execute("SELECT task_id FROM deadlines WHERE id = ?", (object_id,)).fetchone()
        if row is not None:
            return int(row[0])
    raise RuleViolation(_("the event is about no task"))


def _run_mail(
    db: sqlite3.Connection, clock: Clock, actor: Actor, params: dict, event: Mapping
) -> dict:
    from sempi_cli.services.mail.outbox import Outbox
    from sempi_cli.services.mail.templates import TEMPLATES

    client = _client(db, event) if event["client_id"] is not None else None
    to = params["to"]
    if to == "client":
        client = _client(db, event)
        if not client["email"]:
            raise RuleViolation(_("the client has no e-mail address"))
        address, name = client["email"], client["ragione_sociale"]
    else:
        if to == "responsible":
            user_id = _responsible_of(db, event)
            user = _user_row(db, f"user:{user_id}")
        else:
            user = _user_row(db, to)
        address, name = user["email"], user["full_name"]
    context = {
        "full_name": name,
        "email": address,
        "client": client["ragione_sociale"] if client is not None else None,
        "client_id": event["client_id"],
        "title": event["data"].get("title") if isinstance(event["data"], dict) else None,
        "message": params.get("message"),
    }
    template = TEMPLATES[params["mail_template"]]
    missing = [k for k in template.required if context.get(k) in (None, "")]
    if missing:
        raise RuleViolation(
            _("the mail template {name} needs {fields}, which the event does not give").format(
                name=repr(params["mail_template"]), fields=", ".join(missing)
            )
        )
    message = Outbox(db, clock, actor).queue(
        params["mail_template"],
        address,
        {k: v for k, v in context.items() if v is not None},
        dedupe_key=f"automation:{params['rule_id']}:{event['id']}:{address}",
    )
    return {"mail": message, "to": address}


def _responsible_of(db: sqlite3.Connection, event: Mapping) -> int:
    """The responsible of the event's task, else of its client."""
    try:
        task_id = _task_id(db, event)
    except RuleViolation:
        client = _client(db, event)
        if client["responsible_id"] is None:
            raise RuleViolation(_("the client has no responsible")) from None
        return int(client["responsible_id"])
    row = db.execute("SELECT responsible_id FROM tasks WHERE id = ?", (task_id,)).fetchone()
    if row is None:
        raise RuleViolation(_("the event's task is gone"))
    return int(row[0])


def _run_task(
    db: sqlite3.Connection, clock: Clock, actor: Actor, params: dict, event: Mapping
) -> dict:
    from sempi_cli.services.templates.one_off import OneOffTasks

    client = _client(db, event)
    made = OneOffTasks(db, clock, actor).add(params["task_template"], client=client["id"])
    return {"tasks": [task["id"] for task in made]}


def _run_responsible(
    db: sqlite3.Connection, clock: Clock, actor: Actor, params: dict, event: Mapping
) -> dict:
    from sempi_cli.services.tasks.input import TaskEdit
    from sempi_cli.services.tasks.tasks import TaskService

    task_id = _task_id(db, event)
    user = _user_row(db, params["to"])
    tasks = TaskService(db, clock, actor)
    if tasks.row(task_id)["responsible_id"] == user["id"]:
        return {"task": task_id, "responsible": user["email"], "changes": {}}
    done = tasks.edit([task_id], TaskEdit(responsible=str(user["id"])))
    return {"task": task_id, "responsible": user["email"], "changes": done[0]["changes"]}


def _run_sign(
    db: sqlite3.Connection, clock: Clock, actor: Actor, params: dict, event: Mapping
) -> dict:
    from sempi_cli.services.signing.requests import SignRequests, client_signers

    client = _client(db, event)
    signers = client_signers(db, client["id"])
    if not signers:
        raise RuleViolation(_("the client has no active external user to sign"))
    request = SignRequests(db, clock, actor).request(
        client["id"], template=params["sign_template"], signers=signers
    )
    return {"sign_request": request["id"]}


def _run_checklist(
    db: sqlite3.Connection, clock: Clock, actor: Actor, params: dict, event: Mapping
) -> dict:
    from sempi_cli.services.checklists.checklists import ChecklistService
    from sempi_cli.services.tasks.tasks import TaskService
    from sempi_cli.services.templates.templates import TemplateService

    task_id = _task_id(db, event)
    tasks = TaskService(db, clock, actor)
    tasks.may_change(tasks.row(task_id))
    template = TemplateService(db, clock, actor).row(params["task_template"])
    wanted = params.get("checklist")
    spec = [
        s
        for s in json.loads(template["checklists"] or "[]")
        if wanted is None or s["name"].lower() == wanted.lower()
    ]
    if not spec:
        raise RuleViolation(
            _("the task template {name} has no checklist {checklist} any more").format(
                name=repr(template["name"]), checklist=repr(wanted)
            )
        )
    ChecklistService(db, clock, actor).instantiate(task_id, json.dumps(spec))
    return {"task": task_id, "checklists": [s["name"] for s in spec]}


ACTIONS: dict[str, Action] = {
    "notify": Action(("--to", "--message"), ("--to",), False, _check_notify, _run_notify),
    "mail": Action(
        ("--mail-template", "--to", "--message"),
        ("--mail-template", "--to"),
        False,
        _check_mail,
        _run_mail,
    ),  # fmt: skip
    "task": Action(("--task-template",), ("--task-template",), False, _check_task, _run_task),
    "set-responsible": Action(("--to",), ("--to",), True, _check_responsible, _run_responsible),
    "sign": Action(("--sign-template",), ("--sign-template",), False, _check_sign, _run_sign),
    "checklist": Action(
        ("--task-template", "--checklist"),
        ("--task-template",),
        True,
        _check_checklist,
        _run_checklist,
    ),  # fmt: skip
}


def check(
    db: sqlite3.Connection, clock: Clock, actor: Actor, name: str, on_kind: str, given: ActionInput
) -> dict:
    """The action's parameters as the store keeps them; InvalidData naming the option
    that is wrong, missing or does not go with the action."""
    action = ACTIONS.get(name)
    if action is None:
        raise InvalidData(
            "--do",
            _("{value} is not an action").format(value=repr(name)),
            _("use one of: {choices}").format(choices=", ".join(ACTIONS)),
        )
    typed = given.given()
    for option in typed:
        if option not in action.options:
            raise InvalidData(
                option,
                _("does not go with --do {action}").format(action=name),
                _("--do {action} takes: {options}").format(
                    action=name, options=", ".join(action.options)
                ),
            )
    for option in action.required:
        if option not in typed:
            raise InvalidData(option, _("--do {action} needs it").format(action=name))
    if action.on_task and event_log.KINDS[on_kind].object_type not in ("task", "deadline"):
        raise InvalidData(
            "--do",
            _("{action} acts on a task, and a {kind} event is about no task").format(
                action=name, kind=on_kind
            ),
            _("use it with an event of a task or a deadline"),
        )
    return action.check(db, clock, actor, given)


def run(
    db: sqlite3.Connection, clock: Clock, actor: Actor, rule: sqlite3.Row, event: Mapping
) -> dict:
    """Run ``rule``'s action for ``event`` as ``actor``; what it did."""
    params = {**json.loads(rule["params"]), "rule": rule["name"], "rule_id": rule["id"]}
    return ACTIONS[rule["action"]].run(db, clock, actor, params, event)


def described(db: sqlite3.Connection, action: str, stored: str) -> dict:
    """The action's parameters for a person: users by e-mail, not by id."""
    params = json.loads(stored)

    def email(ref: str) -> str:
        if not ref.startswith("user:"):
            return ref
        row = db.execute(
            "SELECT email FROM users WHERE id = ?", (int(ref.partition(":")[2]),)
        ).fetchone()
        return row[0] if row else ref

    for key, value in list(params.items()):
        if key == "to":
            params[key] = [email(v) for v in value] if isinstance(value, list) else email(value)
        if value is None:
            del params[key]
    return params
