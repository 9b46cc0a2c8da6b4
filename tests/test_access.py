"""Who sees and changes what: every role against every command (SPEC §1).

The world: two practices (Rossi, Esposito); clients A and B of Rossi, C of
Esposito; staff S1 is responsible for A and B, S2 for C; operator RO is in
A's work group, RO2 in none; XA is A's external user.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, piva

USERS = {
    "admin": ADMIN_EMAIL,
    "S1": "s1@sempi.test",
    "S2": "s2@sempi.test",
    "RA": "ra@rossi.test",
    "RO": "ro@rossi.test",
    "RO2": "ro2@rossi.test",
    "EA": "ea@esposito.test",
    "XA": "xa@client-a.test",
}


@pytest.fixture
def world(org, cli):
    rossi = org.practice("Studio Rossi")
    esposito = org.practice("Studio Esposito")
    org.user(USERS["S1"], "Staff One")
    org.user(USERS["S2"], "Staff Two")
    org.user(USERS["RA"], "Rossi Admin", "studio-admin", studio=rossi)
    org.user(USERS["RO"], "Rossi Operator", "studio-operator", studio=rossi)
    org.user(USERS["RO2"], "Rossi Operator Two", "studio-operator", studio=rossi)
    org.user(USERS["EA"], "Esposito Admin", "studio-admin", studio=esposito)
    ids = {
        key: org.client(name, studio, n, responsible=USERS[who])
        for n, (key, name, studio, who) in enumerate(
            [
                ("A", "Alfa Srl", rossi, "S1"),
                ("B", "Beta Srl", rossi, "S1"),
                ("C", "Gamma Srl", esposito, "S2"),
            ],
            start=1,
        )
    }
    org.group(ids["A"], USERS["RO"])
    org.user(USERS["XA"], "Alfa External", "external", client=ids["A"])
    return {"studios": {"R": rossi, "E": esposito}, "clients": ids}


def run(cli, role, *args):
    return cli(*args, as_user=USERS[role])


VISIBLE_CLIENTS = {
    "admin": {"A", "B", "C"},
    "S1": {"A", "B"},
    "S2": {"C"},
    "RA": {"A", "B"},
    "RO": {"A"},
    "RO2": set(),
    "EA": {"C"},
    "XA": {"A"},
}


@pytest.mark.parametrize("role", list(USERS))
def test_client_list_and_show(cli, world, role):
    ids = world["clients"]
    names = {v: k for k, v in ids.items()}
    listed = json.loads(run(cli, role, "client", "list", "--json").stdout)
    assert {names[r["id"]] for r in listed} == VISIBLE_CLIENTS[role]
    groups = json.loads(run(cli, role, "group", "list", "--json").stdout)
    assert {names[r["client_id"]] for r in groups} == VISIBLE_CLIENTS[role]
    for key, client_id in ids.items():
        for command in (["client", "show", str(client_id)], ["group", "show", str(client_id)]):
            result = run(cli, role, *command)
            if key in VISIBLE_CLIENTS[role]:
                assert result.exit_code == 0, (role, command, result.stderr)
            else:
                assert result.exit_code == 3, (role, command, result.stderr)
                assert f"client {client_id} not found" in result.stderr


# (role, client): expected exit code of `client edit --nickname`
EDIT = {
    "admin": {"A": 0, "B": 0, "C": 0},
    "S1": {"A": 0, "B": 0, "C": 3},
    "S2": {"A": 3, "B": 3, "C": 0},
    "RA": {"A": 0, "B": 0, "C": 3},
    "RO": {"A": 8, "B": 3, "C": 3},
    "RO2": {"A": 3, "B": 3, "C": 3},
    "EA": {"A": 3, "B": 3, "C": 0},
    "XA": {"A": 8, "B": 3, "C": 3},
}


@pytest.mark.parametrize("role", list(USERS))
def test_client_edit(cli, world, role):
    for key, client_id in world["clients"].items():
        result = run(cli, role, "client", "edit", str(client_id), "--nickname", f"by-{role}")
        assert result.exit_code == EDIT[role][key], (role, key, result.stderr)


REMOVE = {
    "admin": {"A": 0, "C": 0},
    "S1": {"A": 8, "C": 3},
    "S2": {"A": 3, "C": 8},
    "RA": {"A": 0, "C": 3},
    "RO": {"A": 8, "C": 3},
    "RO2": {"A": 3, "C": 3},
    "EA": {"A": 3, "C": 0},
    "XA": {"A": 8, "C": 3},
}


@pytest.mark.parametrize("role", list(USERS))
def test_client_remove(cli, world, role):
    for key in ("A", "C"):
        result = run(cli, role, "client", "remove", str(world["clients"][key]), "--yes")
        assert result.exit_code == REMOVE[role][key], (role, key, result.stderr)


ADD_TO_ROSSI = {"admin": 0, "S1": 0, "S2": 0, "RA": 0, "RO": 8, "RO2": 8, "EA": 3, "XA": 3}


@pytest.mark.parametrize("role", list(USERS))
def test_client_add(cli, world, role):
    result = run(
        cli,
        role,
        "client",
        "add",
        "--name",
        "Nuova Srl",
        "--studio",
        "Studio Rossi",
        "--piva",
        piva(50),
    )
    assert result.exit_code == ADD_TO_ROSSI[role], (role, result.stderr)


# Managing client A's work group: admins, Rossi's admin and A's responsible.
MANAGE_A = {"admin": 0, "S1": 0, "S2": 3, "RA": 0, "RO": 8, "RO2": 3, "EA": 3, "XA": 8}


@pytest.mark.parametrize("role", list(USERS))
def test_group_membership(cli, world, role):
    client_a = str(world["clients"]["A"])
    added = run(cli, role, "group", "add-member", client_a, USERS["RO2"])
    assert added.exit_code == MANAGE_A[role], (role, added.stderr)
    if added.exit_code == 0:
        removed = run(cli, role, "group", "remove-member", client_a, USERS["RO2"])
        assert removed.exit_code == 0, removed.stderr


def test_group_rules(cli, world):
    a, c = str(world["clients"]["A"]), str(world["clients"]["C"])
    assert cli("group", "add-member", c, USERS["RO"]).exit_code == 6  # another practice's operator
    assert cli("group", "add-member", c, USERS["XA"]).exit_code == 6  # another client's external
    assert cli("group", "add-member", a, USERS["RO"]).exit_code == 4  # already a member
    assert cli("group", "remove-member", a, USERS["S1"]).exit_code == 5  # the responsible stays
    assert cli("group", "remove-member", a, USERS["S2"]).exit_code == 3  # not a member


def test_membership_grants_and_revokes_access(cli, world):
    b = str(world["clients"]["B"])
    assert run(cli, "RO2", "client", "show", b).exit_code == 3
    assert cli("group", "add-member", b, USERS["RO2"]).exit_code == 0
    assert run(cli, "RO2", "client", "show", b).exit_code == 0
    assert cli("group", "remove-member", b, USERS["RO2"]).exit_code == 0
    assert run(cli, "RO2", "client", "show", b).exit_code == 3


VISIBLE_STUDIOS = {
    "admin": {"R", "E"},
    "S1": {"R", "E"},
    "S2": {"R", "E"},
    "RA": {"R"},
    "RO": {"R"},
    "RO2": {"R"},
    "EA": {"E"},
    "XA": set(),
}


@pytest.mark.parametrize("role", list(USERS))
def test_studios(cli, world, role):
    ids = {v: k for k, v in world["studios"].items()}
    listed = json.loads(run(cli, role, "studio", "list", "--json").stdout)
    assert {ids[r["id"]] for r in listed} == VISIBLE_STUDIOS[role]
    add = run(cli, role, "studio", "add", "--name", f"Studio {role}")
    assert add.exit_code == (0 if role == "admin" else 8)
    edit = run(cli, role, "studio", "edit", str(world["studios"]["R"]), "--city", "Milano")
    expected = 0 if role in ("admin", "RA") else (8 if "R" in VISIBLE_STUDIOS[role] else 3)
    assert edit.exit_code == expected, (role, edit.stderr)


VISIBLE_USERS = {
    "admin": set(USERS),
    "S1": {"admin", "S1", "S2", "RA", "RO", "RO2", "EA", "XA"},  # XA shares group A
    "S2": {"admin", "S1", "S2", "RA", "RO", "RO2", "EA"},
    "RA": {"admin", "S1", "S2", "RA", "RO", "RO2", "XA"},
    "RO": {"admin", "S1", "S2", "RA", "RO", "RO2", "XA"},
    "RO2": {"admin", "S1", "S2", "RA", "RO", "RO2"},
    "EA": {"admin", "S1", "S2", "EA"},
    "XA": {"S1", "RO", "XA"},
}


@pytest.mark.parametrize("role", list(USERS))
def test_user_directory(cli, world, role):
    by_email = {v: k for k, v in USERS.items()}
    listed = json.loads(run(cli, role, "user", "list", "--json").stdout)
    assert {by_email[r["email"]] for r in listed} == VISIBLE_USERS[role]
    for other, email in USERS.items():
        result = run(cli, role, "user", "show", email)
        assert result.exit_code == (0 if other in VISIBLE_USERS[role] else 3), (role, other)


ADD_USER = {
    # (role of the new user, extra args) -> who may
    ("staff", ()): {"admin"},
    ("studio-operator", ("--studio", "Studio Rossi")): {"admin", "RA"},
    ("external", ("--client", "A")): {"admin", "RA", "S1"},
}


@pytest.mark.parametrize("role", list(USERS))
def test_user_add(cli, world, role):
    for n, ((new_role, extra), allowed) in enumerate(ADD_USER.items()):
        args = [str(world["clients"]["A"]) if a == "A" else a for a in extra]
        result = run(
            cli,
            role,
            "user",
            "add",
            "--email",
            f"new{n}-{role.lower()}@x.test",
            "--name",
            "New",
            "--role",
            new_role,
            *args,
        )
        if role in allowed:
            assert result.exit_code == 0, (role, new_role, result.stderr)
        else:
            assert result.exit_code in (3, 8), (role, new_role, result.stderr)


@pytest.mark.parametrize("role", list(USERS))
def test_role_changes_only_by_firm_admin(cli, world, role):
    result = cli(
        "user",
        "edit",
        USERS["RO"],
        "--role",
        "studio-admin",
        "--password-stdin",
        as_user=USERS[role],
        input=ADMIN_PASSWORD + "\n",
    )
    if role == "admin":
        assert result.exit_code == 0
    else:
        assert result.exit_code in (3, 8), (role, result.stderr)


@pytest.mark.parametrize("role", list(USERS))
@pytest.mark.parametrize(
    "command",
    [
        ["audit", "list"],
        ["db", "info"],
        ["db", "check"],
        ["config", "list"],
        ["config", "get", "auth.require_otp"],
    ],
)
def test_admin_only_commands(cli, world, role, command):
    assert run(cli, role, *command).exit_code == (0 if role == "admin" else 8)


def test_everyone_may_read_and_edit_themselves(cli, world):
    for role, email in USERS.items():
        me = json.loads(run(cli, role, "whoami", "--json").stdout)
        assert me["email"] == email
        assert run(cli, role, "user", "edit", email, "--name", f"Renamed {role}").exit_code == 0


@pytest.mark.parametrize("role", list(USERS))
@pytest.mark.parametrize(
    "command",
    [
        ["auth", "otp", "status"],
        ["auth", "sessions", "list"],
        ["auth", "app-password", "list"],
        ["whoami"],
    ],
)
def test_own_credentials_are_everyones(cli, world, role, command):
    assert run(cli, role, *command).exit_code == 0


@pytest.mark.parametrize("role", list(USERS))
def test_others_credentials_are_the_firm_admins(cli, world, role):
    for command in (
        ["auth", "sessions", "list", "--user", USERS["S1"]],
        ["auth", "app-password", "list", "--user", USERS["S1"]],
    ):
        result = run(cli, role, *command)
        if role in ("admin", "S1"):
            assert result.exit_code == 0
        else:
            assert result.exit_code in (3, 8), (role, command, result.stderr)
