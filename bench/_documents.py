#!/usr/bin/env python3
"""`sempi doc import` of a backlog tree against `cp -r` of the same tree.

The tree: FILES files (default 5,000) of MB megabytes in all (default 500),
half of them duplicates of the other half's contents, in four top-level
directories named like the default folders, ten year sub-directories each.
A store made with ``sempi init`` semantics, one client with the default
folder tree, the firm administrator logged in through the real CLI. Then,
each timed as a whole process (start-up included). Three rounds of

  cp -r TREE COPY                    the floor (page cache, no sync)
  sync                               what cp -r leaves to write, timed apart
  sempi doc import TREE --dry-run    reads and hashes everything, writes nothing
  sempi doc import TREE              the real import (committed, synced)

each round into a fresh store, medians printed; then, once,

  sempi doc import TREE              a re-run: everything is skipped

Printed: seconds and MB/s of each; the import's throughput as a share of
``cp -r`` and of ``cp -r`` + ``sync``; the store's growth against the
distinct bytes. Target (issue 7): the import at least 50% of ``cp -r``.

Run by bench/onboarding.py (the issue's one run); alone:
.venv/bin/python bench/_documents.py [--files 5000] [--mb 500]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import time
from pathlib import Path

from _common import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    SEMPI,
    base_env,
    login,
    partita_iva,
    report,
    workdir,
)

TOPS = ("Contabilità", "IVA", "F24", "Dichiarazioni")
TARGET_SHARE = 0.50
ROUNDS = 3


def make_tree(root: Path, files: int, total: int) -> int:
    """The backlog; returns the bytes of distinct content."""
    rng = random.Random(20261116)
    average = total // files
    distinct: list[bytes] = []
    unique_bytes = 0
    for n in range(files):
        folder = root / TOPS[n % len(TOPS)] / str(2015 + n % 10)
        folder.mkdir(parents=True, exist_ok=True)
        if n % 2 == 0 or not distinct:
            data = rng.randbytes(rng.randint(average // 2, average * 3 // 2))
            distinct.append(data)
            unique_bytes += len(data)
        else:
            data = rng.choice(distinct)
        (folder / f"documento-{n:05d}.pdf").write_bytes(data)
    return unique_bytes


def build(store: Path) -> int:
    """A store with a practice and a client with the default tree; the client's id."""
    from sempi_cli.clock import SystemClock
    from sempi_cli.services.clients.clients import ClientService
    from sempi_cli.services.clients.input import ClientInput
    from sempi_cli.services.documents.folders import FolderService
    from sempi_cli.services.identity.auth import actor_from_row
    from sempi_cli.services.org.firm import create_store
    from sempi_cli.services.org.studios import StudioService

    clock = SystemClock()
    conn, created = create_store(store, clock, "Bench Srl", ADMIN_EMAIL, "Bruno", ADMIN_PASSWORD)
    try:
        admin = actor_from_row(
            conn.execute("SELECT * FROM users WHERE id = ?", (created["admin_id"],)).fetchone()
        )
        studio = StudioService(conn, clock, admin).add("Studio Rossi")["id"]
        client = ClientService(conn, clock, admin).add(
            ClientInput("Alfa Srl", studio=studio, partita_iva=partita_iva(0))
        )["id"]
        FolderService(conn, clock, admin).create_default_tree(client)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return int(client)


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd)} exited {result.returncode}: {result.stderr}")
    return elapsed, result.stdout


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--mb", type=int, default=500)
    args = parser.parse_args(argv)
    with workdir() as home:
        tree = home / "archivio"
        distinct = make_tree(tree, args.files, args.mb * 1_000_000)
        read = sum(f.stat().st_size for f in tree.rglob("*") if f.is_file())
        report("files", args.files)
        report("tree_size", read / 1e6, "MB")
        report("distinct_content", distinct / 1e6, "MB")
        # Both read the tree from the page cache: warm it once. Then, ROUNDS times,
        # a copy, its sync and an import into a fresh store, interleaved, so that
        # a busy disk or CPU in one moment weighs on both sides alike.
        timed(["cp", "-r", str(tree), str(home / "riscaldamento")])
        subprocess.run(["sync"], check=True)
        copies, syncs, imports, dry_runs = [], [], [], []
        for n in range(ROUNDS):
            copies.append(timed(["cp", "-r", str(tree), str(home / f"copia{n}")])[0])
            syncs.append(timed(["sync"])[0])
            store = home / f"sempi{n}.db"
            client = build(store)
            env = base_env(home, store)
            login(env)
            subprocess.run(["sync"], check=True)
            import_cmd = [SEMPI, "doc", "import", str(tree), "--client", str(client), "--json"]
            dry_runs.append(timed([*import_cmd, "--dry-run"], env)[0])
            size_before = store.stat().st_size
            seconds, out = timed(import_cmd, env)
            imports.append(seconds)
        summary = json.loads(out)
        again, out2 = timed(import_cmd, env)
        assert json.loads(out2)["skipped"] == args.files, out2
        wal = Path(f"{store}-wal")
        grown = store.stat().st_size + (wal.stat().st_size if wal.exists() else 0) - size_before
        cp, cp_sync = (
            statistics.median(copies),
            statistics.median(c + s for c, s in zip(copies, syncs, strict=True)),
        )
        real = statistics.median(imports)
        for name, seconds in (
            ("cp_r", cp), ("cp_r_plus_sync", cp_sync), ("import_dry_run", statistics.median(dry_runs)),
            ("import", real), ("import_rerun", again),
        ):  # fmt: skip
            report(f"{name}_time", seconds, "s")
            report(f"{name}_throughput", read / seconds / 1e6, "MB/s")
        report("import_times", ", ".join(f"{s:.2f}" for s in imports), "s")
        report("cp_r_times", ", ".join(f"{s:.2f}" for s in copies), "s")
        report("import_imported", summary["imported"])
        report("import_duplicates", summary["duplicates"])
        report("import_bytes_stored", summary["bytes_stored"] / 1e6, "MB")
        report("store_growth", grown / 1e6, "MB")
        report("import_share_of_cp_r", cp / real * 100, "%")
        report("import_share_of_cp_r_plus_sync", cp_sync / real * 100, "%")
        report("target_share_of_cp_r", TARGET_SHARE * 100, "%")
        report("load_average", os.getloadavg()[0])


if __name__ == "__main__":
    main()
