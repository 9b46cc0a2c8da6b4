"""Click's own texts, in this command's language.

typer 0.28 carries its own copy of Click, whose texts are English literals, not
gettext calls (typer's own module does call gettext). The texts a person meets
are put into words through the catalog here: the help's "Usage:" and "Show this
message and exit.", typer's section titles, and the parse errors, matched by
their English shape (each pattern's named groups are its message id's
placeholders, so a translation may reorder them).
"""

from __future__ import annotations

import re
from functools import cache

from sempi_cli.i18n import N_, gettext

# typer's module that calls gettext itself ("Options", "default", "required").
GETTEXT_MODULES = ("typer.core",)
USAGE = N_("Usage: ")
HELP_OPTION = N_("Show this message and exit.")
DID_YOU_MEAN = N_("Did you mean {commands}?")

# Whole messages first, then the problems "Invalid value for X: ..." carries.
PARSE_ERRORS = [
    (
        r"No such option: (?P<option>.+?) \(Possible options: (?P<options>.+)\)",
        N_("No such option: {option} (possible options: {options})"),
    ),
    (r"No such option: (?P<option>.+)", N_("No such option: {option}")),
    (r"Missing argument (?P<name>'.+?')\.(?P<rest>.*)", N_("Missing argument {name}.{rest}")),
    (r"Missing option (?P<name>'.+?')\.(?P<rest>.*)", N_("Missing option {name}.{rest}")),
    (r"Missing parameter: (?P<name>.+)", N_("Missing parameter: {name}")),
    (
        r"Got unexpected extra argument\(s\) \((?P<args>.*)\)",
        N_("Got unexpected extra argument(s) ({args})"),
    ),
    (
        r"Option (?P<option>'.+?') requires an argument\.",
        N_("Option {option} requires an argument."),
    ),
    (
        r"Option (?P<option>'.+?') requires (?P<n>\d+) arguments\.",
        N_("Option {option} requires {n} arguments."),
    ),
    (
        r"Option (?P<option>'.+?') does not take a value\.",
        N_("Option {option} does not take a value."),
    ),
    (
        r"Invalid value for (?P<param>.+?): (?P<problem>.*)",
        N_("Invalid value for {param}: {problem}"),
    ),
    (r"Invalid value: (?P<problem>.*)", N_("Invalid value: {problem}")),
]
PROBLEMS = [
    (
        r"(?P<value>.+) is not a valid (?:integer|int range)\.",
        N_("{value} is not a valid integer."),
    ),
    (r"(?P<value>.+) is not a valid (?:float|float range)\.", N_("{value} is not a valid number.")),
    (
        r"(?P<value>.+) is not a valid boolean\. Recognized values: (?P<states>.+)",
        N_("{value} is not a valid yes/no value. Recognized values: {states}"),
    ),
    (r"(?P<value>.+) is not one of (?P<choices>.+)\.", N_("{value} is not one of {choices}.")),
    (
        r"(?P<value>.+) is not in the range (?P<range>.+)\.",
        N_("{value} is not in the range {range}."),
    ),
    (
        r"(?P<value>.+) does not match the formats (?P<formats>.+)\.",
        N_("{value} does not match the formats {formats}."),
    ),
]


@cache
def _compiled(table: str) -> list[tuple[re.Pattern[str], str]]:
    """The patterns, compiled at the first parse error (not at every start)."""
    source = PARSE_ERRORS if table == "errors" else PROBLEMS
    return [(re.compile(p, re.DOTALL), m) for p, m in source]


def _match(
    text: str, table: list[tuple[re.Pattern[str], str]]
) -> tuple[str, dict[str, str]] | None:
    for pattern, message in table:
        found = pattern.fullmatch(text)
        if found:
            return message, found.groupdict()
    return None


def translated(text: str) -> str:
    """A Click parse error (``exc.format_message()``) in this command's language;
    as it is when its shape is not known."""
    head, mark, guess = text.partition(". Did you mean ")  # typer's suggestion
    if mark and guess.endswith("?"):
        suggestion = gettext(DID_YOU_MEAN).format(commands=guess[:-1])
        return f"{translated(head + '.').rstrip('.')}. {suggestion}"
    found = _match(text, _compiled("errors"))
    if found is None:
        return text
    message, parts = found
    if "problem" in parts:
        problem = _match(parts["problem"], _compiled("problems"))
        if problem is not None:
            parts["problem"] = gettext(problem[0]).format(**problem[1])
    return gettext(message).format(**parts)


def install() -> None:
    """Click's help texts and typer's gettext through our catalog."""
    import typer.core
    from typer._click import decorators, formatting

    typer.core._ = gettext  # type: ignore[attr-defined]
    write_usage = formatting.HelpFormatter.write_usage
    if getattr(write_usage, "_sempi", False):
        return

    def usage(
        self: formatting.HelpFormatter, prog: str, args: str = "", prefix: str | None = None
    ) -> None:
        write_usage(self, prog, args, gettext(USAGE) if prefix is None else prefix)

    usage._sempi = True  # type: ignore[attr-defined]
    formatting.HelpFormatter.write_usage = usage  # type: ignore[method-assign]
    help_option = decorators.help_option

    def translated_help_option(param_decls: list[str]) -> object:
        def add(command: object) -> object:
            help_option(param_decls)(command)
            command.params[-1].help = gettext(HELP_OPTION)  # type: ignore[attr-defined]
            return command

        return add

    decorators.help_option = translated_help_option  # type: ignore[assignment]
