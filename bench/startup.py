#!/usr/bin/env python3
"""Start-up cost of sempi next to its floors: `python -c "import sqlite3"`,
`python -c "import typer"`, `sempi --version`, `sempi --help` and
`sempi task list` (a logged-in user on a small store: the path a person runs
most, with the store opened and the session checked).

The Italian interface (issue 17) is timed beside the English: `--help`,
`task list` and the prompt's `status --short` with SEMPI_LANG=it (the catalog
read, every text translated) against SEMPI_LANG=en (no catalog at all); the
target is at most 1.05x.

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
    check_target,
    login,
    report,
    report_timing,
    run_all,
    workdir,
)

PAIRED = ("sempi_help", "sempi_task_list", "sempi_status_short")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="timed runs of each command")
    args = parser.parse_args()
    with workdir() as home:
        store = home / "sempi.db"
        build_store(store, 20)
        env = base_env(home, store)
        login(env)
        env["SEMPI_LANG"] = "en"
        commands = {
            "python_import_sqlite3": [PYTHON, "-c", "import sqlite3"],
            "python_import_typer": [PYTHON, "-c", "import typer"],
            "sempi_version": [SEMPI, "--version"],
            "sempi_help": [SEMPI, "--help"],
            "sempi_task_list": [SEMPI, "task", "list"],
            "sempi_status_short": [SEMPI, "status", "--short"],
        }
        # The pairs run English, Italian, Italian, English (ABBA) in every round: what
        # ran just before a command (a heavy one warms or cools the machine) then
        # weighs on both languages alike. Each language's figure is the mean of its
        # two medians.
        timed: dict[str, list[str]] = {}
        for name, cmd in commands.items():
            if name in PAIRED:
                for part in ("a", "it_a", "it_b", "b"):
                    timed[f"{name}_{part}"] = cmd
            else:
                timed[name] = cmd
        print(f"# bench/startup.py: {args.repeat} runs each, medians")
        raw = run_all(
            timed,
            env,
            args.repeat,
            envs={name: {**env, "SEMPI_LANG": "it"} for name in timed if "_it_" in name},
        )
    results = {name: raw[name] for name in commands if name not in PAIRED}
    for name in PAIRED:
        for language, parts in (("", ("a", "b")), ("_it", ("it_a", "it_b"))):
            runs = [raw[f"{name}_{part}"] for part in parts]
            results[name + language] = (
                sum(median for median, _peak in runs) / 2,
                max(peak for _median, peak in runs),
            )
    for name, (median, peak) in results.items():
        report_timing(name, median, peak)
    floor = results["python_import_typer"][0]
    report("sempi_version_vs_import_typer", results["sempi_version"][0] / floor, "x")
    report("sempi_help_vs_import_typer", results["sempi_help"][0] / floor, "x")
    report("sempi_task_list_vs_import_typer", results["sempi_task_list"][0] / floor, "x")
    verdicts: list[str] = []
    for name in PAIRED:
        ratio = results[f"{name}_it"][0] / results[name][0]
        check_target(verdicts, f"{name}_italian_vs_english", ratio, 1.05, "x")
    print(f"# targets: {', '.join(verdicts)}")


if __name__ == "__main__":
    main()
