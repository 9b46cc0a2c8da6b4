"""The Italian catalog's upkeep (``make i18n``) and what its tests check.

Extraction is Babel's: every text marked in sempi_cli (``_``, ``gettext``,
``ngettext``, ``pgettext``, ``N_``, ``Text``, ``ntext``), Click's and typer's
own texts a person reads, and the help of every command and option, read from
the built command tree (cli/language.help_texts: exactly the texts the CLI
translates, docstrings and ``help=`` alike). ``update`` merges them into
``locale/it/LC_MESSAGES/sempi.po`` (new texts untranslated, gone ones dropped)
and compiles the ``.mo`` the program reads. A development tool: Babel is a test
dependency, never imported by the program.

    python -m sempi_cli.i18n_catalog update [X.json...]  # after changing texts
    python -m sempi_cli.i18n_catalog todo cli/task       # what is left to translate
"""

from __future__ import annotations

import importlib
import io
import os
import sys
from collections.abc import Iterator

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir, extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from sempi_cli import i18n

PACKAGE = os.path.dirname(__file__)
PO_FILE = os.path.join(i18n.LOCALE_DIR, "it", "LC_MESSAGES", i18n.DOMAIN + ".po")
MO_FILE = PO_FILE[:-3] + ".mo"
KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "Text": None,
    "ntext": (1, 2),
    "NP_": ((1, "c"), 2),
    "NN_": (1, 2),
}
CLICK_KEYWORDS = {"_": None, "ngettext": (1, 2)}


def extract() -> Catalog:
    """Every message id the program may show, as a catalog template."""
    template = Catalog(locale="it", project="sempi", fuzzy=False)
    for path, lineno, message, _comments, context in extract_from_dir(
        PACKAGE, [("**/locale/**", "ignore"), ("**.py", "python")], keywords=KEYWORDS
    ):
        template.add(message, locations=[(path, lineno)], context=context)
    for name in sorted(language_modules()):
        path = importlib.import_module(name).__file__
        assert path is not None
        for lineno, message, _comments, context in extract_from_file(
            "python", path, CLICK_KEYWORDS
        ):
            template.add(message, locations=[(name, lineno)], context=context)
    for where, text in command_help():
        template.add(text, locations=[(where, 0)])
    return template


def language_modules() -> tuple[str, ...]:
    from sempi_cli.cli.click_texts import GETTEXT_MODULES

    return GETTEXT_MODULES


def command_help() -> Iterator[tuple[str, str]]:
    """(command path, English help) for every command, group and option of the CLI:
    the commands docgen.walk visits, as the reference documents them."""
    from sempi_cli import docgen
    from sempi_cli.cli.language import help_texts

    with i18n.speaking("en"):
        for ctx in docgen.walk():
            for _owner, _attribute, text in help_texts(ctx.command):
                yield ctx.command_path, text


def read() -> Catalog:
    with open(PO_FILE, "rb") as file:
        return read_po(file, locale="it", domain=i18n.DOMAIN)


def write(catalog: Catalog) -> None:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, omit_header=False, sort_output=True, no_location=True)
    with open(PO_FILE, "wb") as file:
        file.write(buffer.getvalue())
    with open(MO_FILE, "wb") as file:
        file.write(compiled(catalog))


def compiled(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def update(parts: list[str]) -> None:
    """Bring the catalog up to the code (new texts in, gone texts out), taking the
    translations of ``parts`` (see ``fill``), and compile it."""
    catalog = read() if os.path.exists(PO_FILE) else Catalog(locale="it", project="sempi")
    template = extract()
    template.creation_date = catalog.creation_date  # the header changes with the texts only
    catalog.update(template, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    for path in parts:
        fill(catalog, path)
    write(two_forms(catalog))


# Italian as gettext has always written it: one form for 1, one for the rest. CLDR's
# third category (a million *di* euro) is a case sempi's counts never meet.
PLURAL_FORMS = "nplurals=2; plural=(n != 1);"


def two_forms(catalog: Catalog) -> Catalog:
    """The catalog with Italian's two plural forms (a third, CLDR's "many", is dropped:
    "other" is the form for every count that is not one)."""
    catalog.mime_headers = [("Plural-Forms", PLURAL_FORMS)]
    for message in catalog:
        if isinstance(message.string, tuple) and len(message.string) > 2:
            message.string = (message.string[0], message.string[-1])
    return catalog


def fill(catalog: Catalog, path: str) -> int:
    """Take the translations of ``path`` for the texts ``catalog`` has: a .json of
    {message id: translation, or [singular, plural] for a count}, and
    {"@context": {...}} for texts in a context; the number taken."""
    import json

    with open(path, encoding="utf-8") as file:
        pairs = []
        for key, value in json.load(file).items():
            if key.startswith("@") and isinstance(value, dict):  # {"@context": {...}}
                pairs.extend((k, v, key[1:]) for k, v in value.items())
            else:
                pairs.append((key, value, None))
    taken = 0
    for message_id, string, context in pairs:
        if isinstance(string, list):
            string = tuple(string)
        if not string or (isinstance(string, tuple) and not all(string)):
            continue
        target = catalog.get(message_id, context)
        if target is not None:
            if target.pluralizable != isinstance(string, tuple):
                continue
            target.string = string
            target.flags.discard("fuzzy")
            taken += 1
    return taken


def todo(prefixes: list[str]) -> dict[str, object]:
    """The texts found where ``prefixes`` say (``cli/task``, ``services/tasks``,
    ``sempi task``: a command's help) that the catalog does not translate yet, as
    a .json to fill in."""
    catalog = read()
    wanted: dict[str, object] = {}
    for message in extract():
        if not message.id or not any(
            str(path).startswith(prefix) for path, _line in message.locations for prefix in prefixes
        ):
            continue
        known = catalog.get(message.id)
        if (
            known is not None
            and known.string
            and (not isinstance(known.string, tuple) or all(known.string))
        ):
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        value: object = ["", ""] if isinstance(message.id, tuple) else ""
        if message.context:
            wanted.setdefault("@" + message.context, {})[key] = value  # type: ignore[index]
        else:
            wanted[key] = value
    return wanted


def main(argv: list[str]) -> int:
    if argv[:1] == ["update"]:
        update(argv[1:])
        return 0
    if argv[:1] == ["todo"] and len(argv) > 1:
        import json

        print(json.dumps(todo(argv[1:]), ensure_ascii=False, indent=1))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
