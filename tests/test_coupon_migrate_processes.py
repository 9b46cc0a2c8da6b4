"""`coupon migrate` from real `sempi` processes on one store: two processes assigning
the last coupon at the same moment, each for another client. The coupons are counted
and drawn inside the BEGIN IMMEDIATE transaction that writes the term, so exactly one
wins; the other, let in by the write lock after it, finds no coupon left, exits 5 and
changes nothing. The processes authenticate as cron jobs do (conftest.cron_env) and
run on the system clock: the package is valid through next year."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import cf_person, cron_env, log_output
from tests.helpers import SEMPI, assert_one_line_error

pytestmark = pytest.mark.slow  # real sempi processes

TIMEOUT = 300  # seconds, for a machine busy with other tests
ROUNDS = 3


def test_two_processes_assigning_the_last_coupon_exactly_one_wins(
    store: Path | str, tmp_path: Path, db, org
):
    studio = org.practice("Studio Rossi")
    env = {
        **cron_env(store, tmp_path / "cron-home", "coupon tests"),
        "SEMPI_DB": str(store),
    }
    until = f"{datetime.now(UTC).year + 1}-12-31"  # the processes' clock is the system's
    n = 0
    for _ in range(ROUNDS):
        package = db.execute(
            "INSERT INTO coupon_packages (studio_id, type, count, valid_until, added_at, added_by)"
            " VALUES (?, 'migrazione', 1, ?, '2026-11-01T09:00:00+00:00', 1) RETURNING id",
            (studio, until),
        ).fetchone()[0]
        clients = []
        for name in ("Alfa", "Beta"):
            n += 1
            client_id = org.client(f"{name} {n} Srl", studio, n)
            db.execute("UPDATE clients SET conto_terzi = 1 WHERE id = ?", (client_id,))
            clients.append(client_id)
        procs = {
            client_id: subprocess.Popen(
                [
                    SEMPI,
                    "--json",
                    "coupon",
                    "migrate",
                    str(client_id),
                    "--email",
                    f"conti{client_id}@cloud.test",
                    "--consultant-name",
                    "Mario",
                    "--consultant-surname",
                    "Rossi",
                    "--consultant-cf",
                    cf_person(1),
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            for client_id in clients
        }
        results = {}
        for client_id, proc in procs.items():
            out, err = proc.communicate(timeout=TIMEOUT)
            log_output(f"sempi coupon migrate {client_id}", out, err)
            results[client_id] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        codes = sorted(r.returncode for r in results.values())
        assert codes == [0, 5], [r.stderr for r in results.values()]
        [winner] = [c for c, r in results.items() if r.returncode == 0]
        [loser] = [c for c, r in results.items() if r.returncode != 0]
        assert json.loads(results[winner].stdout)[0]["package_id"] == package
        assert_one_line_error(results[loser], 5, "no coupon left: 1 needed, 0")

        drawn = db.execute(
            "SELECT client_id FROM coupon_licences WHERE package_id = ?", (package,)
        ).fetchall()
        assert [row[0] for row in drawn] == [winner]  # one term, the winner's
        for table in ("coupon_accounts", "coupon_licences", "mail_outbox"):
            assert (
                db.execute(
                    f"SELECT count(*) FROM {table} WHERE client_id = ?", (loser,)
                ).fetchone()[0]
                == 0
            ), table
        assert (
            db.execute(
                "SELECT count(*) FROM audit_log WHERE action = 'migrate' AND object_id = ?",
                (loser,),
            ).fetchone()[0]
            == 0
        )
