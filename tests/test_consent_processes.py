"""Answers to the consent request from real `sempi` processes on one store: two at
once are both kept, each linked to the other in the hash chain, and the later one
(the higher id: the order the write lock let them in) rules. The processes
authenticate as cron jobs do (tests/conftest.py: cron_env)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from sempi_cli.services.documents.documents import DocumentService
from sempi_cli.services.documents.folders import FolderService
from tests.conftest import cron_env, log_output, run_logged
from tests.helpers import SEMPI

pytestmark = pytest.mark.slow  # real sempi processes

TIMEOUT = 300  # seconds, for a machine busy with other tests


def test_two_processes_answering_at_once_are_both_kept_and_the_later_rules(
    store_path: Path, tmp_path: Path, db, org, clock
):
    studio = org.practice("Studio Rossi")
    client = org.client("Alfa Srl", studio, 1, smart_services=["fattura-smart"])
    FolderService(db, clock, org.admin).add(client, "Corrispondenza")
    letter = tmp_path / "pec.eml"
    letter.write_text("Subject: consenso\n\nRisposta del cliente.")
    document = DocumentService(db, clock, org.admin).add(client, "Corrispondenza", [str(letter)])
    evidence = str(document[0]["id"])
    env = {
        **cron_env(store_path, tmp_path / "cron-home", "consent tests"),
        "SEMPI_DB": str(store_path),
    }

    rounds = 3
    for _ in range(rounds):
        procs = {
            word: subprocess.Popen(
                [
                    SEMPI,
                    "consent",
                    "answer",
                    str(client),
                    word,
                    "--on-behalf",
                    "--channel",
                    "pec",
                    "--evidence",
                    evidence,
                    "--json",
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            for word in ("yes", "no")
        }
        outputs = {word: proc.communicate(timeout=TIMEOUT) for word, proc in procs.items()}
        for word, (out, err) in outputs.items():
            log_output(f"sempi consent answer {word}", out, err)
        assert [p.returncode for p in procs.values()] == [0, 0], [e for _, e in outputs.values()]
        ids = {word: json.loads(out)["id"] for word, (out, _) in outputs.items()}
        later = max(ids, key=lambda word: ids[word])

        history = run_logged([SEMPI, "consent", "history", str(client), "--json"], env=env)
        assert history.returncode == 0, history.stderr
        state = json.loads(history.stdout)
        assert sorted(a["id"] for a in state["answers"][-2:]) == sorted(ids.values())
        assert state["state"] == {"yes": "consented", "no": "refused"}[later]

    rows = db.execute("SELECT id, prev_hash, row_hash FROM consent_answers ORDER BY id").fetchall()
    assert len(rows) == 2 * rounds
    assert all(rows[i]["prev_hash"] == rows[i - 1]["row_hash"] for i in range(1, len(rows)))
    verify = run_logged([SEMPI, "consent", "verify"], env=env)
    assert (verify.returncode, verify.stdout.strip()) == (
        0,
        f"The consent record holds: {2 * rounds} answer(s), chain intact.",
    )
