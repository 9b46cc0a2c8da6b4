"""The client's fiscal profile: one declarative table of fields (FISCAL_RULES.md §5).

The same names are the `--profile FIELD=VALUE` options, the batch-file
columns, the JSON keys and the store's columns, so there is one vocabulary.
A change of a field takes effect from a day (clients/history.py keeps the
versions); ``takes_effect`` is the day the law gives when none is named.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sempi_cli.errors import InvalidData
from sempi_cli.i18n import N_
from sempi_cli.i18n import gettext as _


@dataclass(frozen=True)
class ProfileField:
    name: str
    help: str
    choices: tuple[str, ...] | None = None  # None: a yes/no flag
    default: str | bool = False
    # "next_year": the VAT regime and periodicity change from 1 January of the
    # next year (art. 1 DPR 100/1998, art. 1 c.54 L.190/2014); "today": the rest.
    takes_effect: str = "today"


PROFILE_FIELDS: tuple[ProfileField, ...] = (
    ProfileField(
        "iva_periodicity",
        N_("VAT liquidation: IVA-M, IVA-T, IVA-TS; none for forfettari/exempt"),
        ("mensile", "trimestrale", "trimestrale_speciale", "none"),
        "none",
        "next_year",
    ),
    ProfileField(
        "contabilita_presso_terzi",
        N_("monthly VAT on the month before (art. 1 c.3 DPR 100/98)"),
        takes_effect="next_year",
    ),
    ProfileField(
        "intra1_goods", N_("INTRASTAT sales of goods"), ("mensile", "trimestrale", "none"), "none"
    ),
    ProfileField(
        "intra1_services",
        N_("INTRASTAT services rendered"),
        ("mensile", "trimestrale", "none"),
        "none",
    ),
    ProfileField(
        "intra2_goods",
        N_("INTRASTAT purchases of goods (statistical)"),
        ("mensile", "none"),
        "none",
    ),
    ProfileField("intra2_services", N_("INTRASTAT services received"), ("mensile", "none"), "none"),
    ProfileField(
        "has_reverse_charge_purchases", N_("domestic reverse-charge purchases (autofatture TD16)")
    ),
    ProfileField("has_foreign_purchases", N_("purchases from abroad (integrazioni TD17/18/19)")),
    ProfileField("sostituto_imposta", N_("withholding agent: F24 ritenute, CU, 770")),
    ProfileField("has_employees", N_("employees: INPS DM10, INAIL")),
    ProfileField("gs_committente", N_("pays gestione separata contributions as committente")),
    ProfileField(
        "inps_ivs",
        N_("INPS artigiani/commercianti position"),
        ("artigiano", "commerciante", "none"),
        "none",
    ),
    ProfileField("inps_gs_professionista", N_("professional in INPS gestione separata")),
    ProfileField("isa_subject", N_("subject to ISA (indici sintetici di affidabilità)")),
    ProfileField(
        "forfettario", N_("regime forfettario (no periodic VAT)"), takes_effect="next_year"
    ),
    ProfileField("issues_bollo_efatture", N_("issues e-invoices bearing imposta di bollo")),
    ProfileField("imu_owner", N_("owns property subject to IMU")),
)
FIELDS_BY_NAME = {f.name: f for f in PROFILE_FIELDS}
TAXPAYER_KINDS = ("persona_fisica", "societa_persone", "societa_capitali", "ente")
_TRUE = {"yes", "y", "true", "1", "si", "sì", "on"}
_FALSE = {"no", "n", "false", "0", "off"}


def yes_no(raw: object, field: str) -> bool:
    """A yes/no value as people write it (yes, sì, 1, true / no, 0, false) or a JSON
    boolean: the one vocabulary of every yes/no option and batch column."""
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidData(field, _("{value} is not yes or no").format(value=repr(raw)))


def parse_value(field: ProfileField, raw: object, *, source: str = "--profile") -> str | bool:
    """A typed value for ``field`` from text (or a bool/str already typed, from JSON)."""
    label = f"{source} {field.name}"
    if field.choices is None:
        return yes_no(raw, label)
    text = str(raw).strip().lower()
    if text not in field.choices:
        raise InvalidData(
            label,
            _("{value} is not one of {choices}").format(
                value=repr(raw), choices=", ".join(field.choices)
            ),
        )
    return text


def typed(values: dict[str, object], *, source: str = "--profile") -> dict[str, str | bool]:
    """Profile values from any caller (CLI, batch file, JSON), checked and typed."""
    result: dict[str, str | bool] = {}
    for raw_name, raw in values.items():
        name = str(raw_name).strip().lower().replace("-", "_")
        field = FIELDS_BY_NAME.get(name)
        if field is None:
            raise InvalidData(
                source,
                _("unknown field {name}").format(name=repr(raw_name)),
                _("see 'sempi client fields'"),
            )
        result[name] = parse_value(field, raw, source=source)
    return result


def parse_assignments(items: list[str] | None) -> dict[str, str | bool]:
    """``["iva_periodicity=mensile", "sostituto_imposta=yes"]`` → typed values."""
    pairs: dict[str, object] = {}
    for item in items or []:
        name, sep, raw = item.partition("=")
        if not sep:
            raise InvalidData(
                "--profile",
                _("{value} is not FIELD=VALUE").format(value=repr(item)),
                _("see 'sempi client fields'"),
            )
        pairs[name] = raw
    return typed(pairs)


def check_consistency(profile: dict[str, object]) -> None:
    """Refuse profiles that contradict themselves."""
    if profile.get("forfettario") and profile.get("iva_periodicity") not in (None, "none"):
        raise InvalidData(
            "--profile iva_periodicity",
            _("a forfettario has no periodic VAT liquidation"),
            _("set iva_periodicity=none or forfettario=no"),
        )
    if profile.get("contabilita_presso_terzi") and profile.get("iva_periodicity") != "mensile":
        raise InvalidData(
            "--profile contabilita_presso_terzi",
            _("applies only to monthly VAT (iva_periodicity=mensile)"),
        )


def takes_effect(name: str, today: date) -> date:
    """The day a change of *name* applies from when none is given: the next
    1 January for the VAT regime and periodicity, today for the others."""
    if FIELDS_BY_NAME[name].takes_effect == "next_year":
        return date(today.year + 1, 1, 1)
    return today


def defaults() -> dict[str, str | bool]:
    return {f.name: f.default for f in PROFILE_FIELDS}


def from_row(row) -> dict[str, str | bool]:
    return {
        f.name: (bool(row[f.name]) if f.choices is None else row[f.name]) for f in PROFILE_FIELDS
    }
