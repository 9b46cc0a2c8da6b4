"""The Italian catalog: complete, current with the code, compiled, placeholders kept;
and every text a person reads marked for it (no English leaks in Italian).

When one fails: ``make i18n`` brings the catalog up to the code, then translate the
new entries of sempi_cli/locale/it/LC_MESSAGES/sempi.po (docs/glossario.md).
"""

from __future__ import annotations

import ast
import os
import string
from pathlib import Path

import pytest

from sempi_cli import i18n_catalog

PACKAGE = Path(i18n_catalog.PACKAGE)


@pytest.fixture(scope="module")
def catalog():
    return i18n_catalog.read()


def _messages(catalog):
    return [m for m in catalog if m.id]


def _fields(text: str) -> set[str]:
    """The named placeholders of a str.format template (``{name!r}`` is ``name``)."""
    return {
        f"{name}!{conv}" if conv else name
        for _t, name, _s, conv in string.Formatter().parse(text)
        if name is not None
    }


def test_every_text_has_an_italian_translation(catalog) -> None:
    missing = []
    for message in _messages(catalog):
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(forms) or message.fuzzy:
            missing.append(message.id)
    assert not missing, f"{len(missing)} texts without an Italian translation: {missing[:10]}"


def test_catalog_is_current_with_the_code(catalog) -> None:
    """Extraction finds nothing new, and nothing the code no longer says."""
    in_code = {m.id for m in i18n_catalog.extract() if m.id}
    in_catalog = {m.id for m in _messages(catalog)}
    assert not in_code - in_catalog, (
        f"not in the catalog (make i18n): {sorted(in_code - in_catalog, key=str)[:10]}"
    )
    assert not in_catalog - in_code, (
        f"no longer in the code (make i18n): {sorted(in_catalog - in_code, key=str)[:10]}"
    )


def test_compiled_catalog_is_current(catalog) -> None:
    compiled = Path(i18n_catalog.MO_FILE).read_bytes()
    assert compiled == i18n_catalog.compiled(catalog), "sempi.mo is stale: make i18n"


def test_placeholders_match_between_the_languages(catalog) -> None:
    wrong = []
    for message in _messages(catalog):
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = _fields(ids[-1]) | _fields(ids[0])
        for form in filter(None, forms):  # a missing one is the test above's
            try:
                found = _fields(form)
            except ValueError as exc:  # a lone brace
                wrong.append((ids[0], str(exc)))
                continue
            # A singular may say "un incarico" for {n}; no other placeholder may be lost or added.
            if found - expected or (expected - found) - {"n", "count"}:
                wrong.append((ids[0], form))
    assert not wrong, f"placeholders differ: {wrong[:10]}"


# --- every text marked --------------------------------------------------------------

MARKERS = {"_", "gettext", "ngettext", "pgettext", "N_", "Text", "ntext"}
ERRORS = {
    "SempiError",
    "UsageProblem",
    "NotFound",
    "Conflict",
    "RuleViolation",
    "InvalidData",
    "NotAuthenticated",
    "PermissionDenied",
    "StoreBusy",
    "StoreUnusable",
}
# Where an English literal is right: the tooling, and values that are not texts.
NOT_TEXT_MODULES = {"i18n.py", "i18n_catalog.py", "docgen.py", "demo.py"}


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _has_words(node: ast.expr) -> bool:
    """A literal or f-string with letters of its own (not just placeholders, not
    just the product's name)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return any(c.isalpha() for c in node.value.replace("sempi", ""))
    if isinstance(node, ast.JoinedStr):
        return any(_has_words(v) for v in node.values if isinstance(v, ast.Constant))
    if isinstance(node, ast.BinOp):
        return _has_words(node.left) or _has_words(node.right)
    return False


def _sources():
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name not in NOT_TEXT_MODULES:
            yield path, ast.parse(path.read_text(encoding="utf-8"))


def test_marked_texts_are_literals() -> None:
    """Babel extracts only a literal: ``_(f"...")`` would never be translated."""
    wrong = []
    for path, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node.func) in MARKERS and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    continue
                later = _name(node.func) in {"_", "gettext", "pgettext"}
                if later and not isinstance(first, ast.JoinedStr | ast.BinOp):
                    continue  # a value marked with N_ / NP_ where it is defined
                if _name(node.func) == "ngettext" and isinstance(first, ast.Starred):
                    continue  # a pair marked with NN_ where it is defined
                wrong.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not wrong, f"a marked text that is not a literal: {wrong}"


def test_error_messages_are_marked_for_translation() -> None:
    """Every error a person reads goes through the catalog: no English literal in
    the message or hint of a SempiError (the field of InvalidData is a name)."""
    wrong = []
    for path, tree in _sources():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and _name(node.func) in ERRORS):
                continue
            texts = node.args[1:] if _name(node.func) == "InvalidData" else node.args
            texts = [
                *texts,
                *(k.value for k in node.keywords if k.arg in ("message", "hint", "problem")),
            ]
            if any(_has_words(t) for t in texts):
                wrong.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not wrong, f"{len(wrong)} error texts not marked: {wrong[:20]}"


def test_messages_to_people_are_marked_for_translation() -> None:
    """What the CLI says (echo, say, confirm) goes through the catalog too."""
    wrong = []
    for path, tree in _sources():
        if "cli" not in path.parts:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node.func) in {
                "echo",
                "say",
                "confirm",
                "secho",
            }:
                texts = node.args[1:] if _name(node.func) in {"say", "confirm"} else node.args[:1]
                if any(_has_words(t) for t in texts):
                    wrong.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not wrong, f"{len(wrong)} messages not marked: {wrong[:20]}"


def test_the_lazy_reader_answers_as_pythons_gettext(catalog) -> None:
    """i18n.Catalog (it decodes a text only when asked) against gettext's own reader,
    on every text of the catalog, singular, plural and in a context."""
    import gettext
    import io

    from sempi_cli import i18n

    data = Path(i18n_catalog.MO_FILE).read_bytes()
    fd = os.open(i18n_catalog.MO_FILE, os.O_RDONLY)
    ours, stdlib = i18n.Catalog(fd), gettext.GNUTranslations(io.BytesIO(data))
    assert catalog.plural_forms == i18n_catalog.PLURAL_FORMS  # the rule Catalog applies
    for message in _messages(catalog):
        if isinstance(message.id, tuple):
            for n in (0, 1, 2, 3, 1000000):
                assert ours.ngettext(*message.id, n) == stdlib.ngettext(*message.id, n)
        elif message.context:
            assert ours.pgettext(message.context, message.id) == stdlib.pgettext(
                message.context, message.id
            )
        else:
            assert ours.gettext(message.id) == stdlib.gettext(message.id)
    assert ours.gettext("not a text of ours") == "not a text of ours"
    assert ours.ngettext("one thing", "{n} things", 2) == "{n} things"
    os.close(fd)
