#!/usr/bin/env python3
"""Start-up cost of sempi next to its floors: `python -c "import sqlite3"`,
`python -c "import typer"`, `sempi --version`, `sempi --help` and
`sempi task list` (a logged-in user on a small store: the path a person runs
most, with the store opened and the session checked).

Prints the median wall time (ms) and peak RSS (MB) of each, all timed in
interleaved rounds in one run. Completion calls sempi on every TAB, so
`sempi --version` should stay close to the `import typer` floor; the
`sempi client list` targets (at most 1.5x bench/floor.py, at most 60 MB peak
RSS) are checked by bench/clients.py.

Run: .venv/bin/python bench/startup.py [--repeat 20]
"""

from __future__ import annotations

import argparse

from _common import (
    PYTHON,
    SEMPI,
    base_env,
    build_store,
    login,
    report,
    report_timing,
    run_all,
    workdir,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="timed runs of each command")
    args = parser.parse_args()
    with workdir() as home:
        store = home / "sempi.db"
        build_store(store, 20)
        env = base_env(home, store)
        login(env)
        commands = {
            "python_import_sqlite3": [PYTHON, "-c", "import sqlite3"],
            "python_import_typer": [PYTHON, "-c", "import typer"],
            "sempi_version": [SEMPI, "--version"],
            "sempi_help": [SEMPI, "--help"],
            "sempi_task_list": [SEMPI, "task", "list"],
        }
        print(f"# bench/startup.py: {args.repeat} runs each, medians")
        results = run_all(commands, env, args.repeat)
    for name, (median, peak) in results.items():
        report_timing(name, median, peak)
    floor = results["python_import_typer"][0]
    report("sempi_version_vs_import_typer", results["sempi_version"][0] / floor, "x")
    report("sempi_help_vs_import_typer", results["sempi_help"][0] / floor, "x")
    report("sempi_task_list_vs_import_typer", results["sempi_task_list"][0] / floor, "x")


if __name__ == "__main__":
    main()
