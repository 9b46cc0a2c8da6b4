#!/usr/bin/env python3
"""The floor for `sempi client list`: the least a Typer command can do for the same output.

A one-command Typer app that opens the store with plain sqlite3 (the pragmas
of sempi's open_store), runs ClientService.list's SELECT as a firm admin with
a LIMIT, and prints the rows as sempi's table (tabulate, same columns and
options). It imports nothing of sempi_cli. bench/clients.py times it next to
`sempi client list --limit 50`; the target is sempi at most 1.5x this floor
(medians, same run) and at most 60 MB peak RSS.

Run: .venv/bin/python bench/floor.py --db STORE --limit 50
"""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

# Copied from sempi_cli.store.connection.PRAGMAS and open_store.
PRAGMAS = (
    "PRAGMA busy_timeout = 10000",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA secure_delete = ON",
    "PRAGMA trusted_schema = OFF",
    "PRAGMA foreign_keys = ON",
)
# ClientService.list for a firm admin (visible_clients is "1"), removed clients hidden.
SQL = (
    "SELECT c.id, c.ragione_sociale, c.codice_fiscale, c.partita_iva, c.studio_id,"
    " s.name AS studio, c.responsible_id, u.email AS responsible, p.iva_periodicity,"
    " c.nickname, c.removed_at"
    " FROM clients c JOIN client_profiles p ON p.client_id = c.id"
    " AND p.valid_from = (SELECT max(h.valid_from) FROM client_profiles h"
    " WHERE h.client_id = c.id AND h.valid_from <= :today)"
    " JOIN studios s ON s.id = c.studio_id"
    " LEFT JOIN users u ON u.id = c.responsible_id"
    " WHERE 1 AND c.removed_at IS NULL ORDER BY c.ragione_sociale COLLATE NOCASE, c.id"
    " LIMIT :limit"
)
# sempi_cli.services.clients.clients.LIST_COLUMNS
COLUMNS = tuple(
    "id ragione_sociale codice_fiscale partita_iva studio responsible iva_periodicity".split()
)

app = typer.Typer(add_completion=False, rich_markup_mode=None)


@app.command()
def client_list(
    db: Annotated[Path, typer.Option("--db", help="The store file.", dir_okay=False)],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many.")] = 50,
) -> None:
    """List clients by ragione sociale, as `sempi client list` does."""
    conn = sqlite3.connect(db, isolation_level=None, timeout=10.0)
    try:
        for pragma in PRAGMAS:
            conn.execute(pragma)
        conn.row_factory = sqlite3.Row
        rows = [
            dict(r) for r in conn.execute(SQL, {"limit": limit, "today": date.today().isoformat()})
        ]
    finally:
        conn.close()
    if not rows:
        return
    from tabulate import tabulate

    table = [["" if r[c] is None else str(r[c]) for c in COLUMNS] for r in rows]
    typer.echo(tabulate(table, headers=list(COLUMNS), tablefmt="simple", disable_numparse=True))


if __name__ == "__main__":
    app()
