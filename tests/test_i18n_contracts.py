"""Machine contracts do not change with the language: JSON, the default CSV, exit
codes and .ics are byte-identical in Italian and English, on the demo's data."""

from __future__ import annotations

import random

import pytest

from sempi_cli import demo
from tests.conftest import Cli

READS = [
    ("client", "list", "--json"),
    ("client", "list", "--format", "csv"),
    ("client", "show", "3", "--json"),
    ("client", "fields", "--json"),
    ("scheduler", "list", "--limit", "40", "--json"),
    ("scheduler", "list", "--limit", "40", "--format", "csv"),
    ("scheduler", "list", "--limit", "40", "--format", "jsonl"),
    ("scheduler", "explain", "3", "LIPE", "2026-Q4", "--json"),
    ("scheduler", "export", "--ics", "-"),
    ("task", "list", "--json"),
    ("task", "list", "--format", "csv"),
    ("task", "due", "--json"),
    ("task", "export"),
    ("group", "show", "3", "--json"),
    ("user", "list", "--format", "csv"),
    ("studio", "list", "--json"),
    ("coupon", "clients", "--studio", "1", "--json"),
    ("coupon", "list", "--studio", "1", "--format", "csv"),
    ("consent", "list", "--studio", "1", "--json"),
    ("notify", "list", "--json"),
    ("audit", "list", "--limit", "30", "--json"),
    ("status", "--json"),
    ("doctor", "--json"),
    ("config", "list", "--format", "csv"),
]
REFUSED = [
    ("task", "show", "999999"),
    ("task", "list", "--limit", "x"),
    ("client", "add", "--name", "X", "--studio", "1", "--piva", "123"),
    ("scheduler", "explain", "3", "NOPE", "2026-Q4"),
    ("coupon", "migrate", "999999", "--consultant-name", "A", "--consultant-surname", "B"),
    ("nothing-here",),
]


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "sempi.db"
    demo.build(path, random.Random(7))
    return path


@pytest.fixture
def demo_cli(demo_store, clock):
    run = Cli(demo_store, clock)

    def as_admin(*args):
        return run(*args, as_user=demo.ADMIN[0])

    assert as_admin("scheduler", "run", "--json").exit_code == 0
    return as_admin


def both(cli, monkeypatch, args):
    results = {}
    for language in ("it", "en"):
        monkeypatch.setenv("SEMPI_LANG", language)
        results[language] = cli(*args)
    return results["it"], results["en"]


def test_outputs_for_scripts_are_the_same_in_both_languages(demo_cli, monkeypatch) -> None:
    for args in READS:
        italian, english = both(demo_cli, monkeypatch, args)
        assert english.exit_code == 0, (args, english.stderr)
        assert italian.exit_code == english.exit_code, args
        assert italian.stdout_bytes == english.stdout_bytes, args
        assert italian.stdout_bytes.strip(), args


def test_exit_codes_are_the_same_in_both_languages(demo_cli, monkeypatch) -> None:
    for args in REFUSED:
        italian, english = both(demo_cli, monkeypatch, args)
        assert english.exit_code not in (0, 1), (args, english.stderr)
        assert italian.exit_code == english.exit_code, args
        assert italian.stderr.startswith("Errore: ") and english.stderr.startswith("Error: ")
        assert italian.stderr.count("\n") == english.stderr.count("\n") == 1, args
