"""The README's short tour, run for real on a fresh demo store and recorded.

``python -m sempi_cli.tour it docs/it/giro-guidato.md`` builds the demo (as
``make demo`` does), logs its administrator in, runs every command of the
README's tour in that language and writes what each one printed, so the page
shows the product as it is, not as someone remembers it. tests/test_docs.py
checks the page still holds every command of the README's tour: a tour that
changes is recorded again.
"""

from __future__ import annotations

import os
import random
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PROMPT = ".venv/bin/sempi "
MAX_LINES = 30  # a long listing is cut: the page is read, not diffed

TITLES = {
    "it": (
        "# Giro guidato (registrato)\n\n"
        "Il giro breve del README, eseguito davvero su un archivio dimostrativo appena "
        "creato (`make demo`: dati di fantasia) con l'interfaccia in italiano, e "
        "registrato da `python -m sempi_cli.tour it docs/it/giro-guidato.md`. Ogni comando "
        "è seguito da ciò che ha scritto (messaggi e dati insieme, come in un terminale); "
        "gli elenchi lunghi sono accorciati. I nomi dei comandi e delle opzioni restano in "
        "inglese, come negli script; l'output per gli script (`--json`, `--format csv`) è "
        "identico nelle due lingue.\n"
    ),
    "en": "# Guided tour (recorded)\n\nThe README's short tour, run on a fresh demo store.\n",
}
CUT = {"it": "… ({n} righe in più)", "en": "… ({n} more lines)"}
# Commands that ask on a terminal: the login reads its password from stdin here; the
# two-step enrolment (a QR code, then a code from the phone) is described, not run.
INTERACTIVE = {
    "it": "(interattivo: mostra un codice QR e chiede il primo codice dell'app; non registrato)",
    "en": "(interactive: shows a QR code and asks for the app's first code; not recorded)",
}


def tour_commands(readme: str | None = None) -> list[str]:
    """The README's tour, one command line each (continuations joined, comments
    and the prompt's path left out): what a person types after ``sempi``."""
    text = README.read_text(encoding="utf-8") if readme is None else readme
    block = text.split("## A short tour", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands, pending = [], ""
    for line in block.splitlines():
        line = pending + line.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1]
            continue
        if line.startswith(PROMPT):
            words = shlex.split(line[len(PROMPT) :], comments=True)
            commands.append(shlex.join(words))
    return commands


def record(language: str, out: Path) -> int:
    from sempi_cli import demo

    sempi = str(Path(sys.executable).parent / "sempi")
    with tempfile.TemporaryDirectory() as work:
        home = Path(work) / "demo"
        home.mkdir()
        db_path = home / "sempi.db"
        demo.build(db_path, random.Random(2026))
        env = {k: v for k, v in os.environ.items() if not k.startswith("SEMPI_")}
        env.update(SEMPI_HOME=str(home), SEMPI_DB=str(db_path), SEMPI_LANG=language)
        subprocess.run(
            [sempi, "login", "-e", demo.ADMIN[0], "--password-stdin"],
            input=demo.DEMO_PASSWORD + "\n",
            env=env,
            cwd=work,
            capture_output=True,
            text=True,
            check=True,
        )
        subprocess.run([sempi, "scheduler", "run", "-q"], env=env, cwd=work, check=True)
        parts = [TITLES[language]]
        for command in tour_commands():
            words = [w.replace("/tmp/", f"{work}/") for w in shlex.split(command)]
            if words[:3] == ["auth", "otp", "enable"]:
                parts.append(f"```console\n$ sempi {command}\n{INTERACTIVE[language]}\n```\n")
                continue
            secret = None
            if words[0] == "login":
                words.append("--password-stdin")
                secret = demo.DEMO_PASSWORD + "\n"
            ran = subprocess.run(
                [sempi, *words],
                env={**env, "COLUMNS": "100"},
                cwd=work,
                input=secret,
                stdin=None if secret else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            lines = ran.stdout.rstrip("\n").splitlines()
            if len(lines) > MAX_LINES:
                more = len(lines) - MAX_LINES
                lines = [*lines[:MAX_LINES], CUT[language].format(n=more)]
            shown = "\n".join(lines).replace(str(home), "demo").replace(f"{work}/", "/tmp/")
            parts.append(f"```console\n$ sempi {command}\n{shown}\n```\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(parts), encoding="utf-8")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in TITLES:
        print("usage: python -m sempi_cli.tour it|en FILE.md", file=sys.stderr)
        sys.exit(2)
    sys.exit(record(sys.argv[1], Path(sys.argv[2])))
