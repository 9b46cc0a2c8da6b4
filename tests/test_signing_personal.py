"""A client's documents sent for signature under the GDPR (signing/personal.py):
the export carries them, the erasure blanks the client's e-mail and PEC in their
filled values and keeps the documents and their evidence."""

# ruff: noqa: F811 (office, imported from test_signing_requests, is a fixture)
from __future__ import annotations

import json

from sempi_cli.services.signing import evidence
from tests.conftest import ADMIN_PASSWORD
from tests.helpers import data, ok
from tests.test_clients_privacy import erase, export
from tests.test_signing_requests import MARIO, office, request  # noqa: F401 (a fixture)


def test_export_and_erasure_of_a_clients_signature_requests(cli, db, office, tmp_path):
    db.execute("UPDATE clients SET email = 'alfa@alfa.test', pec = 'alfa@pec.alfa.test'"
               " WHERE id = ?", (office["alfa"],))  # fmt: skip
    db.commit()
    made = data(request(cli, office, MARIO, due="2026-12-31"))
    out = tmp_path / "alfa.json"
    ok(export(cli, office["alfa"], out))
    [signature] = json.loads(out.read_text())["signatures"]
    assert signature["id"] == made["id"] and signature["sha256"] == made["sha256"]
    assert signature["fields"]["client.pec"] == "alfa@pec.alfa.test"
    assert [s["email"] for s in signature["signers"]] == [MARIO]
    result = data(erase(cli, office["alfa"], "--reason", "richiesta del cliente", "--yes"))
    assert result["client_id"] == office["alfa"]
    fields = json.loads(db.execute("SELECT fields FROM sign_requests").fetchone()[0])
    assert fields["client.email"] == "" and fields["client.pec"] == ""
    assert fields["client.ragione_sociale"] == "Alfa Srl"  # kept, as the client's name is
    row = db.execute("SELECT sha256, document_id FROM sign_requests").fetchone()
    assert row["sha256"] == made["sha256"]  # the document itself is the record: kept
    assert evidence.verify(db)["ok"]
    details = db.execute(
        "SELECT details FROM audit_log WHERE action = 'erase' AND object_type = 'client'"
    ).fetchone()[0]
    assert json.loads(details)["signature_requests"] == 1
    assert ADMIN_PASSWORD not in details
