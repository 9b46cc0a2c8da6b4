"""Issue 16, coupon packages: `coupon add` records a package (the practice's
administrator or a firm administrator), `coupon list` shows used and left; bad
input is one line and writes nothing."""

from __future__ import annotations

import pytest

from tests.conftest import store_digest
from tests.helpers import assert_one_line_error, data, ok

SADMIN = "sadmin@rossi.test"
OPERATOR = "op@rossi.test"
VERDI_ADMIN = "sadmin@verdi.test"


@pytest.fixture
def firm(org) -> dict:
    rossi, verdi = org.practice("Studio Rossi"), org.practice("Studio Verdi")
    org.user(SADMIN, "Sandro Admin", "studio-admin", studio=rossi)
    org.user(OPERATOR, "Olga Operatrice", "studio-operator", studio=rossi)
    org.user(VERDI_ADMIN, "Vera Verdi", "studio-admin", studio=verdi)
    return {"rossi": rossi, "verdi": verdi}


def add(cli, *extra: str, as_user: str = SADMIN):
    return cli(
        "--format", "json", "coupon", "add", "--studio", "Studio Rossi", *extra, as_user=as_user
    )


def test_a_package_is_recorded_and_listed_with_used_and_left(cli, firm):
    package = data(
        ok(
            add(
                cli,
                "--type",
                "migrazione",
                "--count",
                "50",
                "--valid-until",
                "31/12/2026",
                "--reference",
                "ORD-7",
            )
        )
    )
    assert package["type"] == "migrazione"
    assert (package["count"], package["used"], package["left"]) == (50, 0, 50)
    assert package["valid_until"] == "2026-12-31"
    ok(add(cli, "--type", "rinnovo", "--count", "40", "--valid-until", "2027-12-31"))
    listed = data(
        ok(cli("--format", "json", "coupon", "list", "--studio", "Studio Rossi", as_user=SADMIN))
    )
    assert [p["type"] for p in listed] == ["rinnovo", "migrazione"]
    assert listed[1]["reference"] == "ORD-7"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("--type", "migrazione", "--count", "0", "--valid-until", "31/12/2026"), "--count"),
        (
            ("--type", "migrazione", "--count", "1000000000000", "--valid-until", "31/12/2026"),
            "--count",
        ),
        (("--type", "migrazione", "--count", "5", "--valid-until", "30/12/2026"), "--valid-until"),
        (("--type", "migrazione", "--count", "5", "--valid-until", "31/12/2025"), "--valid-until"),
        (("--type", "gratis", "--count", "5", "--valid-until", "31/12/2026"), "--type"),
        (("--type", "migrazione", "--count", "5", "--valid-until", "domani?"), "--valid-until"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(cli, firm, store_path, args, field):
    before = store_digest(store_path)
    assert_one_line_error(add(cli, *args), 6, field)
    assert store_digest(store_path) == before


def test_only_the_practice_administrator_or_a_firm_administrator_records_packages(cli, firm):
    args = ("--type", "migrazione", "--count", "5", "--valid-until", "31/12/2026")
    assert_one_line_error(add(cli, *args, as_user=OPERATOR), 8, "administrator")
    assert_one_line_error(add(cli, *args, as_user=VERDI_ADMIN), 3, "not found")
    ok(add(cli, *args, as_user="admin@sempi.test"))
