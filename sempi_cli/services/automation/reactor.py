"""The automation as the events record sees it (event_log.REACTORS): at each write,
a look at what is to run for its events' kind (lookup.py), light enough for every
command:

- the before-hook: whether the hooks' folder holds ``before-<kind>`` (a setting
  and a stat of the folder, its listing kept while the folder's mtime stays);
- the rules: the kind's enabled rules, their ids and conditions (one indexed
  query; no cache, so a rule added or disabled counts at the next event, in any
  process).

What runs a hook (hooks.py) or a rule (engine.py, and the actions with every
domain they act through) is imported only when one is to run: a write with
neither imports none of it (a command paid 24 ms for it when it did).
"""

from __future__ import annotations

import functools
import importlib
import sqlite3
from collections.abc import Callable
from types import ModuleType

from sempi_cli.services.automation.lookup import (
    enabled_rules,
    folder_text,
    names,
    skipping_before_hooks,
)


def prepare(db: sqlite3.Connection, kind: str) -> Callable[..., None] | None:
    """The reaction to events of ``kind`` now: the before-hook, then the rules; None
    when neither is there (then nothing more is done)."""
    hooks_folder = None
    if not skipping_before_hooks.get():
        looked = folder_text(db)
        if f"before-{kind}" in names(looked):
            hooks_folder = looked
    rules = enabled_rules(db, kind)
    steps = []
    if hooks_folder is not None:
        steps.append(_machinery("hooks").before_reactor(db, hooks_folder, kind))
    if rules:
        steps.append(_machinery("engine").reactor(rules))
    if len(steps) < 2:
        return steps[0] if steps else None

    def react(*args: object) -> None:
        for step in steps:  # the hook first: its veto refuses the change before rules act
            step(*args)

    return react


@functools.cache
def _machinery(name: str) -> ModuleType:
    """hooks.py or engine.py, imported the first time one is to run (an import
    statement in a function costs each call the import system's lookup)."""
    return importlib.import_module(f"sempi_cli.services.automation.{name}")
