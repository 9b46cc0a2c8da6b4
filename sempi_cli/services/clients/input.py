"""What a person, a script or a batch file says about a client, validated.

``ClientInput`` is the one shape for adding and editing a client; ``columns``
turns it into store columns without touching the store, so a batch file can
be checked row by row before anything is written. ``None`` means "not
given"; an empty string clears an optional field. ``new_client`` and
``stored`` are the rules a new client and a changed field follow, shared by
`client add`/`edit` and the batch so the two cannot drift apart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sempi_cli.errors import InvalidData
from sempi_cli.i18n import gettext as _
from sempi_cli.services import identifiers
from sempi_cli.services.clients import profile
from sempi_cli.services.text import one_line

SMART_SERVICES = ("fattura-smart", "smart-hub", "corrispettivi-smart")
# What a client's people find in sempi (onboarding/ records a choice of them; a
# client without one has every module): here, so `client add` can say which.
MODULES = ("tasks", "documents", "chat", "smart")
MAX_RAGIONE_SOCIALE = 200
MAX_NICKNAME = 64
DEFAULT_KIND = "societa_capitali"
# Columns a new client has even when not given (NULL), so every INSERT names them all.
OPTIONAL_COLUMNS = ("codice_fiscale", "partita_iva", "email", "pec", "nickname")
FLAG_COLUMNS = ("conto_terzi", "own_licence")  # 0/1, default 0


@dataclass
class ClientInput:
    ragione_sociale: str | None = None
    studio: str | int | None = None
    kind: str | None = None
    codice_fiscale: str | None = None
    partita_iva: str | None = None
    email: str | None = None
    pec: str | None = None
    nickname: str | None = None
    responsible: str | int | None = None
    smart_services: list[str] | None = None
    # Conto Terzi coupons (SPEC §7): served through the vendor's conto terzi
    # arrangement; bought its own licence (no coupon ever again).
    conto_terzi: bool | None = None
    own_licence: bool | None = None
    fiscal_profile: dict[str, object] = field(default_factory=dict)


def columns(data: ClientInput, *, person: bool) -> dict[str, object]:
    """The given fields as normalised store columns (the responsible and the
    practice are resolved by the service, which knows who may see whom)."""
    out: dict[str, object] = {}
    if data.ragione_sociale is not None:
        name = one_line(data.ragione_sociale, "--name", MAX_RAGIONE_SOCIALE)
        if not name:
            raise InvalidData("--name", _("the ragione sociale is empty"))
        out["ragione_sociale"] = name
    if data.kind is not None:
        if data.kind not in profile.TAXPAYER_KINDS:
            raise InvalidData(
                "--kind",
                _("{value} is not one of {choices}").format(
                    value=repr(data.kind), choices=", ".join(profile.TAXPAYER_KINDS)
                ),
            )
        out["taxpayer_kind"] = data.kind
    if data.codice_fiscale is not None:
        out["codice_fiscale"] = _or_none(
            data.codice_fiscale,
            lambda v: identifiers.codice_fiscale(v, person=person, field="--codice-fiscale"),
        )
    if data.partita_iva is not None:
        out["partita_iva"] = _or_none(
            data.partita_iva, lambda v: identifiers.partita_iva(v, field="--partita-iva")
        )
    if data.email is not None:
        out["email"] = _or_none(data.email, lambda v: identifiers.email(v, field="--email"))
    if data.pec is not None:
        out["pec"] = _or_none(data.pec, lambda v: identifiers.email(v, field="--pec"))
    if data.nickname is not None:
        out["nickname"] = one_line(data.nickname, "--nickname", MAX_NICKNAME) or None
    if data.smart_services is not None:
        out["smart_services"] = smart_services(data.smart_services)
    if data.conto_terzi is not None:
        out["conto_terzi"] = int(data.conto_terzi)
    if data.own_licence is not None:
        out["own_licence"] = int(data.own_licence)
    out.update(profile.typed(data.fiscal_profile))
    return out


def require_identifier(fields: dict[str, object], field: str = "--codice-fiscale") -> None:
    if fields.get("codice_fiscale") is None and fields.get("partita_iva") is None:
        raise InvalidData(field, _("a client needs a codice fiscale or a partita IVA"))


def new_client(given: dict[str, object]) -> dict[str, object]:
    """A new client's store columns: the given ones over the defaults, checked whole
    (an identifier, a consistent fiscal profile)."""
    fields = {
        **dict.fromkeys(OPTIONAL_COLUMNS),
        "taxpayer_kind": DEFAULT_KIND,
        **profile.defaults(),
        "smart_services": "[]",
        **dict.fromkeys(FLAG_COLUMNS, 0),
        **given,
    }
    require_identifier(fields)
    profile.check_consistency(fields)
    return fields


def split(fields: dict[str, object]) -> tuple[dict[str, object], dict[str, str | bool]]:
    """(the ``clients`` columns, the fiscal profile's values): the profile lives in
    its own table, with a history (clients/history.py)."""
    values: dict[str, str | bool] = {}
    columns: dict[str, object] = {}
    for name, value in fields.items():
        if name in profile.FIELDS_BY_NAME:
            values[name] = value  # type: ignore[assignment]  # typed by profile.typed
        else:
            columns[name] = value
    return columns, values


def stored(value: object) -> object:
    """A value as SQLite gives it back (True/False are 1/0), to compare with a row."""
    return int(value) if isinstance(value, bool) else value


def _or_none(value: str, validate) -> object:
    return validate(value) if value.strip() else None


def smart_services(names: list[str]) -> str:
    """The active SMART services as a sorted JSON list."""
    chosen: set[str] = set()
    for name in names:
        name = name.strip().lower()
        if not name:
            continue
        if name not in SMART_SERVICES:
            raise InvalidData(
                "--smart",
                _("{value} is not a SMART service").format(value=repr(name)),
                _("use {choices}").format(choices=", ".join(SMART_SERVICES)),
            )
        chosen.add(name)
    return json.dumps(sorted(chosen))
