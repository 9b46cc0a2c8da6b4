"""The documentation and completion scripts say what the code does now.

docs/cli.md and completions/* are generated (``make docs``); these tests fail
when the code moved on without them, when a command or option lacks help,
and when completion does not work in a real shell.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.core import TyperGroup

from sempi_cli import docgen
from sempi_cli.errors import EXIT_CODES

DOCS = docgen.ROOT / "docs"
STALE = "is stale: run `make docs` and commit the result"
VERBS = {"add", "list", "show", "edit", "remove"}


def test_cli_reference_is_current() -> None:
    assert docgen.CLI_REFERENCE.read_text(encoding="utf-8") == docgen.render_cli_reference(), (
        f"docs/cli.md {STALE}"
    )


def test_the_italian_walk_through_records_the_readme_tour() -> None:
    """docs/it/giro-guidato.md is the README's tour run in Italian (sempi_cli/tour.py):
    a command added to the tour is recorded again."""
    from sempi_cli import tour

    page = (DOCS / "it" / "giro-guidato.md").read_text(encoding="utf-8")
    commands = tour.tour_commands()
    assert len(commands) > 20
    for command in commands:
        assert f"$ sempi {command}\n" in page, command
    assert "Errore" not in page and "Error:" not in page and "Traceback" not in page


def test_italian_cli_reference_is_current_and_italian() -> None:
    text = docgen.render_cli_reference("it")
    assert docgen.CLI_REFERENCE_IT.read_text(encoding="utf-8") == text, f"docs/it/cli.md {STALE}"
    assert text.count("Uso: sempi") == text.count("## sempi")
    assert "Usage:" not in text and "Options:" not in text and "Show this message" not in text


@pytest.mark.slow
@pytest.mark.parametrize("shell", docgen.SHELLS)
def test_completion_script_is_current(shell: str) -> None:
    path = docgen.completion_file(shell)
    assert path.read_text(encoding="utf-8") == docgen.completion_script(shell), (
        f"completions/sempi.{shell} {STALE}"
    )


def test_check_reports_stale_files_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "cli.md"
    monkeypatch.setattr(docgen, "ROOT", tmp_path)
    monkeypatch.setattr(docgen, "generated", lambda: {target: "new\n"})
    target.write_text("old\n")

    assert docgen.main(["--check"]) == 1
    assert target.read_text() == "old\n"
    assert "stale: cli.md" in capsys.readouterr().err

    assert docgen.main([]) == 0
    assert target.read_text() == "new\n"
    assert docgen.main(["--check"]) == 0


def test_every_command_and_option_has_help() -> None:
    """DESIGN.md: an imperative one-line summary, then an example; every option has help."""
    problems = []
    for ctx in docgen.walk():
        path, command = ctx.command_path, ctx.command
        text = (command.help or "").strip()
        summary = text.splitlines()[0] if text else ""
        if not summary or not summary[0].isupper() or not summary.endswith("."):
            problems.append(f"{path}: help must start with a one-line summary ending in '.'")
        if not isinstance(command, TyperGroup) and "Example:" not in text:
            problems.append(f"{path}: help has no 'Example:'")
        for param in command.params:
            if param.name != "help" and not (getattr(param, "help", None) or "").strip():
                problems.append(f"{path}: {param.opts[0]} has no help")
    assert not problems, "\n".join(problems)


def test_every_command_has_a_section_in_the_reference() -> None:
    text = docgen.CLI_REFERENCE.read_text(encoding="utf-8")
    headings = set(re.findall(r"^## (sempi.*)$", text, re.MULTILINE))
    paths = [ctx.command_path for ctx in docgen.walk()]
    assert "sempi client add" in paths  # the walk reached into the lazily loaded groups
    missing = [path for path in paths if path not in headings]
    assert not missing, f"not in docs/cli.md ({STALE}): {missing}"


def test_exit_code_table_matches_the_code() -> None:
    text = (DOCS / "exit-codes.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d+) \| (.+?) \|$", text, re.MULTILINE)
    assert {int(code): meaning for code, meaning in rows} == EXIT_CODES
    assert len(rows) == len(EXIT_CODES)  # no code listed twice


def test_docs_index_links_every_page() -> None:
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    for page in ("getting-started.md", "cli.md", "exit-codes.md", "security.md"):
        assert f"]({page})" in index
        assert (DOCS / page).is_file()


# Completion in real shells: each sources the shipped script, which runs the
# installed `sempi` (first on PATH) as a TAB would. The environment is the
# test's own, so SEMPI_HOME points into tmp_path.


def run_shell(*argv: str) -> str:
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    result = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=60, cwd=docgen.ROOT
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def bash_complete(*words: str) -> list[str]:
    """COMPREPLY for the command line `words`, the cursor at the end of the last word."""
    script = (
        "source completions/sempi.bash\n"
        f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)})\n"
        f"COMP_CWORD={len(words) - 1}\n"
        "_sempi_completion sempi\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    return run_shell("bash", "--norc", "--noprofile", "-c", script).split()


@pytest.mark.slow
def test_bash_completes_group_names() -> None:
    assert "client" in bash_complete("sempi", "cli")


@pytest.mark.slow
def test_bash_completes_the_verbs_of_a_group() -> None:
    assert VERBS <= set(bash_complete("sempi", "client", ""))


@pytest.mark.slow
def test_bash_completes_profile_values() -> None:
    offered = bash_complete("sempi", "client", "add", "--profile", "iva_periodicity=m")
    assert offered == ["iva_periodicity=mensile"]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_completes_the_verbs_of_a_group() -> None:
    # Outside a completion widget zsh cannot show choices, so _arguments (what
    # the script hands sempi's answer to) is replaced by one that prints them.
    script = (
        "autoload -Uz compinit && compinit -u -D\n"
        "source completions/sempi.zsh\n"
        "_arguments() { print -rl -- $@ }\n"
        "words=(sempi client ''); CURRENT=3; _sempi_completion\n"
    )
    offered = set(re.findall(r'"([\w-]+)":', run_shell("zsh", "-f", "-c", script)))
    assert VERBS <= offered


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes_the_verbs_of_a_group() -> None:
    script = "source completions/sempi.fish; complete -C 'sempi client '"
    output = run_shell("fish", "--no-config", "-c", script)
    assert VERBS <= {line.split("\t")[0] for line in output.splitlines()}
