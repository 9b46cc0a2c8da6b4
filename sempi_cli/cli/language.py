"""The language of this command, and Click's texts in it.

Chosen once, before Click parses anything, so that ``--help`` follows it too:
``SEMPI_LANG``, else the logged-in person's choice (``user edit --language``),
else the firm's default (``config set ui.language``, Italian), else the locale
(``LC_ALL``/``LC_MESSAGES``/``LANG``) when there is no store to ask.

The help of commands and options is written in English in the code (docstrings,
``help=``) and is a message id of the catalog: ``help_texts`` lists every one a
command carries, for the catalog's extraction (sempi_cli/i18n_catalog.py) and for
``translate`` here, which puts the built Click commands into the chosen language.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from sempi_cli import i18n


def choose(args: list[str]) -> None:
    """Choose this process's language for the command line ``args`` (global
    options already hoisted) and put Click's own texts into it."""
    language = i18n.from_environment() or _from_store(args) or i18n.from_locale()
    i18n.use(language)
    if language != "en":
        from sempi_cli.cli import click_texts

        click_texts.install()


def _from_store(args: list[str]) -> str | None:
    """The person's language, else the firm's, from the store the command would
    open; None when there is no usable store (not created yet, not ours, busy...)."""
    from sempi_cli import paths, sessionfile
    from sempi_cli.clock import SystemClock
    from sempi_cli.services import language
    from sempi_cli.services.identity import sessions
    from sempi_cli.store.connection import open_current
    from sempi_cli.store.constants import SCHEMA_VERSION

    explicit = None
    for i, word in enumerate(args):
        if word.startswith("--db="):
            explicit = word[5:]
        elif word == "--db" and i + 1 < len(args):
            explicit = args[i + 1]
    store = paths.store_file(explicit or os.environ.get("SEMPI_DB") or None)
    if not (paths.is_address(store) or os.path.isfile(store)):
        return None
    try:
        conn = open_current(store, SCHEMA_VERSION)
    except Exception:  # the command itself reports what is wrong with the store
        return None
    try:
        user_id = None
        try:
            token = sessionfile.read_token(paths.session_text(store))
            if token is not None:
                user_id = sessions.session_user(conn, token, SystemClock().now(), touch=False)["id"]
        except Exception:  # not logged in, expired: the firm's language
            pass
        return language.preferred(conn, user_id)
    except Exception:
        return None
    finally:
        conn.close()


HELP_ATTRIBUTES = ("help", "short_help", "epilog")


def help_texts(command: Any) -> Iterator[tuple[Any, str, str]]:
    """(object, attribute, English text) for every help a Click command carries:
    its own and its parameters'."""
    for attribute in HELP_ATTRIBUTES:
        text = getattr(command, attribute, None)
        if text:
            yield command, attribute, text
    for param in command.params:
        text = getattr(param, "help", None)
        if text:
            yield param, "help", text


# Whether this command line shows help: only then are the help texts put into
# words (a few hundred lookups a group, for nothing when a command just runs).
_help_shown = False


def help_wanted(args: list[str]) -> None:
    """Note whether ``args`` ask for help (-h, --help, or nothing at all)."""
    global _help_shown
    words = args[: args.index("--")] if "--" in args else args
    _help_shown = not args or "-h" in words or "--help" in words


def help_now() -> None:
    """Help is shown after all (a group called without its command, docs)."""
    global _help_shown
    _help_shown = True


def translate(command: Any) -> Any:
    """``command`` with its help in this process's language, and the sub-commands it
    has built already; a lazy group translates the others as it hands them out.
    Nothing is done when no help is shown. The English of the code is kept beside
    each text, so a command built once serves either language (the tests run many
    commands in one process)."""
    if not _help_shown:
        return command
    help_option = getattr(command, "_help_option", None)  # Click's own, made on first use
    if help_option is not None:
        from sempi_cli.cli.click_texts import HELP_OPTION

        help_option.help = i18n.gettext(HELP_OPTION)
    language = i18n.current()
    if getattr(command, "_sempi_language", "en") == language:
        return command
    for owner, attribute, text in help_texts(command):
        english = owner.__dict__.setdefault("_sempi_english", {}).setdefault(attribute, text)
        setattr(owner, attribute, english if language == "en" else i18n.gettext(english))
    command._sempi_language = language
    for sub in getattr(command, "commands", {}).values():
        translate(sub)
    return command
