#!/usr/bin/env python3
"""`sempi sign`: documents rendered, stored and sealed; `sign verify` of one file.

The store: bench/_common.py's (a firm administrator, a staff user, two practices,
``--clients`` clients), the firm's seal made with `SealService.init`, and a
signature template (a page of Markdown with the client's placeholders).

Timed in this process, through the services (not 1,000 runs of the CLI):

  render + store + seal of ``--documents`` documents, each as a request's life
  does it: the template filled for a client (placeholders.fill), the PDF
  (render.to_pdf), filed in the client's "Firme" folder (DocumentService.add),
  the sign_requests row and its "created" event; then the certificate page
  (certificate.certificate_page), the firm's PAdES seal (seal.seal), the sealed
  copy filed, the row completed and its "completed" event. One transaction per
  document, as `sign request` and the last `sign accept` each commit.
  Reported: documents/s, and the peak RSS of this process (ru_maxrss).

  With ``--workers N`` (N > 1) the CPU-bound part (render, certificate page, seal)
  runs in N processes while this one stores, as a batch of completions could:
  reported beside the single-process figure.

Timed as whole processes (bench/_common.py's run_all, start-up included):

  sempi --version               the start-up floor
  sempi sign verify FILE        one sealed file (the last one made), as the admin

Targets (issue 18): >= 20 documents/s sealed; verify at most 2x the floor.

Run: .venv/bin/python bench/signing.py [--documents 1000] [--workers 2] [--repeat 7]
     (quick try: --documents 50)
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path

from _common import (
    ADMIN_EMAIL,
    SEMPI,
    available,
    base_env,
    build_store,
    check_target,
    login,
    report,
    report_timing,
    run_all,
    workdir,
)

DOCUMENTS = 1_000
CLIENTS = 50
RATE_TARGET = 20.0  # documents sealed per second, at least
FLOOR_TARGET = 2.0  # sign verify, at most this many floors
# Where a document's time goes (the single-process run): the template filled, the
# PDF, the certificate page and the seal, the two files stored with their rows.
PHASES = ("fill", "render", "certificate_and_seal", "store")
TEMPLATE = """# Lettera d'incarico professionale

Il sottoscritto, per conto di **{{client.ragione_sociale}}** (codice fiscale
{{client.codice_fiscale}}, partita IVA {{client.partita_iva}}), conferisce a
{{studio.name}} l'incarico descritto qui di seguito, alle condizioni di
{{firm.name}}.

## Attività

- tenuta della contabilità ordinaria e semplificata
- dichiarazioni fiscali, IVA e sostituto d'imposta
- adempimenti camerali e societari

## Compenso

Il compenso annuo è di 1.200,00 € più IVA e contributo previdenziale, da
versare in quattro rate trimestrali; le prestazioni non comprese sono
concordate a parte, per iscritto.

Milano, {{today}}
"""


def setup(store: Path, home: Path, clients: int) -> dict:
    """The store, the seal and the template; returns ids and the seal's paths."""
    from sempi_cli.clock import SystemClock
    from sempi_cli.services.identity.auth import actor_from_row
    from sempi_cli.services.signing.seal import SealService
    from sempi_cli.services.signing.templates import SignTemplates
    from sempi_cli.store import open_store

    built = build_store(store, clients)
    conn = open_store(store)
    try:
        clock = SystemClock()
        admin = actor_from_row(
            conn.execute("SELECT * FROM users WHERE email = ?", (ADMIN_EMAIL,)).fetchone()
        )
        paths = SealService(conn, clock, admin).init(str(home / "sigillo"))
        source = home / "incarico.md"
        source.write_text(TEMPLATE)
        template = SignTemplates(conn, clock, admin).add("Lettera d'incarico", str(source))
    finally:
        conn.close()
    return {**built, "key": paths.key, "certificate": paths.certificate, "template": template}


def make_pdf(title: str, text: str, when: datetime) -> bytes:
    from sempi_cli.services.signing.render import to_pdf

    return to_pdf(title, text, "markdown", footer=f"{title} · Firma elettronica semplice",
                  created_at=when)  # fmt: skip


def close_pdf(pdf: bytes, lines: list, title: str, key: str, cert: str, when: datetime) -> bytes:
    from sempi_cli.services.signing.certificate import certificate_page
    from sempi_cli.services.signing.seal import seal

    page = certificate_page(pdf, lines, title=title)
    return seal(page, key, cert, reason=title, location="Milano", when=when)


def _both(args: tuple) -> tuple[bytes, bytes]:
    """A worker's share: the document and its sealed copy (no store)."""
    title, text, lines, key, cert, when = args
    pdf = make_pdf(title, text, when)
    return pdf, close_pdf(pdf, lines, title, key, cert, when)


def run_documents(store: Path, home: Path, setup_info: dict, count: int, workers: int) -> dict:
    """``count`` documents rendered, stored and sealed; returns figures and the last file."""
    from sempi_cli.clock import SystemClock
    from sempi_cli.services.documents.documents import DocumentService
    from sempi_cli.services.documents.folders import load_tree
    from sempi_cli.services.identity.auth import actor_from_row
    from sempi_cli.services.signing import evidence
    from sempi_cli.services.signing.placeholders import fill, values_for
    from sempi_cli.store import open_store, write_transaction

    conn = open_store(store)
    clock = SystemClock()
    admin = actor_from_row(
        conn.execute("SELECT * FROM users WHERE email = ?", (ADMIN_EMAIL,)).fetchone()
    )
    firm = conn.execute("SELECT name FROM firm").fetchone()[0]
    client_ids = setup_info["client_ids"]
    key, cert = setup_info["key"], setup_info["certificate"]
    scratch = home / "scratch"
    scratch.mkdir(exist_ok=True)
    documents = DocumentService(conn, clock, admin)

    def job(n: int) -> tuple:
        client_id = client_ids[n % len(client_ids)]
        client = conn.execute("SELECT * FROM clients WHERE id = ?", (client_id,)).fetchone()
        studio = conn.execute(
            "SELECT name, partita_iva FROM studios WHERE id = ?", (client["studio_id"],)
        ).fetchone()
        values = values_for(
            client=dict(client), studio=dict(studio), firm_name=firm, today=date.today(),
            signers=["Mario Rossi"],
        )  # fmt: skip
        title = f"Lettera d'incarico {n + 1} ({workers}, {count})"
        text = fill(TEMPLATE, values, markdown=True)
        when = datetime.now(UTC).replace(microsecond=0)
        lines = [("Richiesta", title), ("Cliente", str(client["ragione_sociale"])),
                 ("Firmatario 1", f"Mario Rossi — {when.isoformat()}")]  # fmt: skip
        return client_id, title, text, lines, when

    def file(client_id: int, name: str, pdf: bytes) -> dict:
        tree = load_tree(conn, client_id)
        folder_id, _made = documents.folders.ensure(tree, ["Firme"])
        path = scratch / name
        path.write_bytes(pdf)
        try:
            [document] = documents.add(client_id, tree.path(folder_id), [str(path)])
        finally:
            path.unlink()
        return document

    def store_one(client_id: int, title: str, pdf: bytes, sealed: bytes | None) -> None:
        sha = hashlib.sha256(pdf).hexdigest()
        with write_transaction(conn):
            document = file(client_id, f"{title}.pdf", pdf)
            request = conn.execute(
                "INSERT INTO sign_requests (client_id, template_id, title, fields, document_id,"
                " sha256, created_at, created_by) VALUES (?, ?, ?, '{}', ?, ?, ?, ?)",
                (client_id, setup_info["template"]["id"], title, document["id"], sha,
                 datetime.now(UTC).isoformat(), admin.id),
            ).lastrowid  # fmt: skip
            evidence.record(conn, clock, request, "created", user_id=admin.id, channel="sempi",
                            hash_after=sha)  # fmt: skip
        if sealed is None:
            return
        final = hashlib.sha256(sealed).hexdigest()
        with write_transaction(conn):
            done = file(client_id, f"{title} - firmato.pdf", sealed)
            conn.execute(
                "UPDATE sign_requests SET status = 'completed', sealed_document_id = ?,"
                " sealed_sha256 = ?, completed_at = ? WHERE id = ?",
                (done["id"], final, datetime.now(UTC).isoformat(), request),
            )
            evidence.record(conn, clock, request, "completed", user_id=None, channel="system",
                            hash_before=sha, hash_after=final)  # fmt: skip

    last = b""
    phases = dict.fromkeys(PHASES, 0.0)
    start = time.perf_counter()
    try:
        if workers <= 1:
            for n in range(count):
                t0 = time.perf_counter()
                client_id, title, text, lines, when = job(n)
                t1 = time.perf_counter()
                pdf = make_pdf(title, text, when)
                t2 = time.perf_counter()
                last = close_pdf(pdf, lines, title, key, cert, when)
                t3 = time.perf_counter()
                store_one(client_id, title, pdf, last)
                t4 = time.perf_counter()
                for phase, spent in zip(PHASES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                    phases[phase] += spent
        else:
            jobs = [job(n) for n in range(count)]
            with ProcessPoolExecutor(workers) as pool:
                made = pool.map(
                    _both, [(t, x, ln, key, cert, w) for _c, t, x, ln, w in jobs], chunksize=4
                )
                for (client_id, title, *_rest), (pdf, sealed) in zip(jobs, made, strict=True):
                    store_one(client_id, title, pdf, sealed)
                    last = sealed
        seconds = time.perf_counter() - start
        sealed_count = conn.execute(
            "SELECT count(*) FROM sign_requests WHERE status = 'completed'"
        ).fetchone()[0]
    finally:
        conn.close()
    return {"seconds": seconds, "sealed": sealed_count, "last": last, "phases": phases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=DOCUMENTS)
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes for the parallel run (1: only the single-process run)")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=7, help="timed runs of each command")
    args = parser.parse_args()
    verdicts: list[str] = []
    check = partial(check_target, verdicts)
    with workdir() as home:
        store = home / "sempi.db"
        info = setup(store, home, args.clients)
        report("cpus", os.cpu_count() or 1)

        done = run_documents(store, home, info, args.documents, 1)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        report("sealed_documents", done["sealed"])
        report("sealed_seconds", done["seconds"], "s")
        report("sealed_peak_rss", peak, "MB")
        for phase, spent in done["phases"].items():
            report(f"sealed_{phase}_per_document", spent / max(1, done["sealed"]) * 1000, "ms")
        check("sealed_rate", done["sealed"] / done["seconds"], RATE_TARGET, "documents/s",
              at_least=True)  # fmt: skip
        if args.workers > 1:
            again = run_documents(store, home, info, args.documents, args.workers)
            report(f"sealed_seconds_{args.workers}_workers", again["seconds"], "s")
            check(f"sealed_rate_{args.workers}_workers", args.documents / again["seconds"],
                  RATE_TARGET, "documents/s", at_least=True)  # fmt: skip

        sealed_file = home / "firmato.pdf"
        sealed_file.write_bytes(done["last"])
        env = base_env(home, store)
        if os.environ.get("PYTHONPATH"):  # a worktree's sempi_cli, not the installed one
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        login(env)
        commands = {"sempi_version": [SEMPI, "--version"]}
        if available(["sign", "verify"], env):
            commands["sign_verify"] = [SEMPI, "sign", "verify", str(sealed_file)]
        else:
            print("sign_verify: not available", flush=True)
        results = run_all(commands, env, args.repeat)
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"# load average at the end {load}", flush=True)
    for name, (median, rss) in results.items():
        report_timing(name, median, rss)
    if "sign_verify" in results:
        floor = results["sempi_version"][0]
        check("sign_verify_vs_floor", results["sign_verify"][0] / floor, FLOOR_TARGET, "x")
    report("targets", f"{verdicts.count('met')} met, {verdicts.count('MISSED')} MISSED")


if __name__ == "__main__":
    main()
