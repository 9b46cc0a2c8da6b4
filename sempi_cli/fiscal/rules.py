"""The fiscal obligations, one declarative row each (FISCAL_RULES.md §3).

A change of law is a change of one row: who it applies to (a predicate on the
client's fiscal profile), its periods, the nominal due date of each period,
whether the August rule covers it, the legal basis, the default checklist and
the reminder lead time. Shifts (weekends, holidays, August) are applied by
``calendar.effective_due``; one-off government extensions are overrides in the
store, never edits here.

A period is what the obligation concerns: ``2026-05`` (a month), ``2026-Q2``
(a quarter), ``2026`` (a year) or ``2026-R1`` (the first instalment of a
year's payment). Its nominal due date may fall in a later month or year.

A yearly period names the tax year, except where the row says
``period_is="form_year"``: a yearly form (CU, 770, Redditi, Dichiarazione IVA,
...) is named, like the form itself and the tax press, by the year it is filed
in, and concerns the year before — "CU 2026" is filed by 16 March 2026 for
the tax year 2025. Each deadline carries both (``Rule.tax_year``).

Pure: no I/O, nothing of ours imported.
"""

from __future__ import annotations

import calendar as _cal
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

Profile = Mapping[str, object]

CADENCES = ("month", "quarter", "year", "instalment")
# What the year of a period names: the year the obligation concerns (a month's
# VAT, a year's acconto) or, for a yearly form, the year it is filed in.
PERIOD_CONVENTIONS = ("tax_year", "form_year")
_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2})|-Q(\d)|-R(\d))?$")


def N_(message: str) -> str:
    """Marks a text for the catalog, as sempi_cli.i18n.N_ does (fiscal/ imports
    nothing of ours): the services put it into words where they show it."""
    return message


class Refused(ValueError):
    """A ValueError a person reads: ``template`` (an English message id, marked
    with N_) and its ``values``; ``str()`` is the English text."""

    def __init__(self, template: str, **values: str) -> None:
        super().__init__(template.format(**values))
        self.template, self.values = template, values


# What a period of each cadence looks like, when a text is not one.
_NOT_A_PERIOD = {
    "month": N_("{text} is not a period of {rule}: give a month such as 2026-05"),
    "quarter": N_("{text} is not a period of {rule}: give a quarter such as 2026-Q2"),
    "year": N_("{text} is not a period of {rule}: give a year such as 2026"),
    "instalment": N_("{text} is not a period of {rule}: give an instalment such as 2026-R1"),
}


@dataclass(frozen=True)
class Rule:
    id: str
    label: str  # Italian, as the firm calls the work
    who: str  # who it applies to, in the profile's own words
    fields: tuple[str, ...]  # the profile fields the predicate reads (for explain)
    applies: Callable[[Profile], bool]
    cadence: str  # one of CADENCES
    due: Callable[[int, int], date]  # (year, index) -> nominal date; index 0 for a year
    indexes: tuple[int, ...]  # the months, quarters or instalments that exist
    august_rule: bool
    legal_basis: str
    checklist: tuple[str, ...]
    lead_days: int  # remind the responsible this many days before the deadline
    first_year: int = 2000  # first period year the row is the law for
    last_year: int = 9999
    period_is: str = "tax_year"  # one of PERIOD_CONVENTIONS ("form_year": yearly forms)
    # In a form-year title, the words before the year the form concerns.
    tax_year_name: str = "periodo d'imposta"

    def __post_init__(self) -> None:
        if self.period_is not in PERIOD_CONVENTIONS:
            raise ValueError(f"{self.id}: period_is must be one of {PERIOD_CONVENTIONS}")
        if self.period_is == "form_year" and self.cadence != "year":
            raise ValueError(
                f"{self.id}: only a yearly rule may name its period by the form's year"
            )

    def tax_year(self, year: int) -> int:
        """The year a period of *year* concerns: the year before, for a form named by
        the year it is filed in ("CU 2026" concerns 2025); *year* itself otherwise."""
        return year - 1 if self.period_is == "form_year" else year

    def period_name(self, year: int, index: int) -> str:
        """The period as the office names it: "2026-Q2"; a form's year with the year
        it concerns beside it, "2026 (periodo d'imposta 2025)"."""
        name = self.period(year, index)
        if self.period_is == "form_year":
            name += f" ({self.tax_year_name} {self.tax_year(year)})"
        return name

    def span(self, year: int, index: int) -> tuple[date, date]:
        """The first and last day a period concerns: its month or quarter; for a
        yearly period or an instalment, the tax year (for a form, the year before)."""
        if self.cadence == "month":
            return date(year, index, 1), date(year, index, _cal.monthrange(year, index)[1])
        if self.cadence == "quarter":
            last = 3 * index
            return date(year, last - 2, 1), date(year, last, _cal.monthrange(year, last)[1])
        concerned = self.tax_year(year)
        return date(concerned, 1, 1), date(concerned, 12, 31)

    def period(self, year: int, index: int) -> str:
        if self.cadence == "month":
            return f"{year}-{index:02d}"
        if self.cadence == "quarter":
            return f"{year}-Q{index}"
        if self.cadence == "instalment":
            return f"{year}-R{index}"
        return str(year)

    def periods(self, year: int) -> list[tuple[int, int]]:
        """The (year, index) pairs of *year* this rule has (none outside its years)."""
        if not self.first_year <= year <= self.last_year:
            return []
        return [(year, index) for index in self.indexes]

    def parse_period(self, text: str) -> tuple[int, int]:
        """``"2026-Q2"`` → (2026, 2); ValueError saying what a period of this rule looks like."""
        match = _PERIOD.match(text.strip().upper())
        not_a_period = Refused(_NOT_A_PERIOD[self.cadence], text=repr(text), rule=self.id)
        if match is None:
            raise not_a_period
        year = int(match.group(1))
        month, quarter, instalment = match.group(2), match.group(3), match.group(4)
        given = {"month": month, "quarter": quarter, "instalment": instalment}
        index = given.get(self.cadence)
        other = [v for k, v in given.items() if v is not None and k != self.cadence]
        if other or (self.cadence != "year" and index is None):
            raise not_a_period
        pair = (year, int(index) if index is not None else 0)
        if pair not in self.periods(year):
            raise Refused(
                N_("{rule} has no period {period}"), rule=self.id, period=text.strip().upper()
            )
        return pair


# -- due-date helpers --------------------------------------------------------------


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def _day_of_next_month(day: int) -> Callable[[int, int], date]:
    """Month M of year Y -> *day* of M+1 (December -> January of Y+1)."""

    def due(year: int, month: int) -> date:
        y, m = _next_month(year, month)
        return date(y, m, day)

    return due


def _end_of_february(year: int) -> date:
    return date(year, 2, _cal.monthrange(year, 2)[1])


def _table(rows: Mapping[int, Callable[[int], date]]) -> Callable[[int, int], date]:
    """Per index, a function of the period's year."""
    return lambda year, index: rows[index](year)


def _fixed(month: int, day: int, year_offset: int = 0) -> Callable[[int], date]:
    return lambda year: date(year + year_offset, month, day)


def _day_after_quarter(day: int) -> Callable[[int, int], date]:
    """Quarter Q -> *day* of the month after it (Q4 -> January of Y+1)."""
    return lambda year, quarter: date(*_next_month(year, quarter * 3), day)


# -- who: predicates on the profile ------------------------------------------------


def _is(field: str, *values: object) -> Callable[[Profile], bool]:
    return lambda p: p.get(field) in values


def _flag(*fields: str) -> Callable[[Profile], bool]:
    return lambda p: any(bool(p.get(f)) for f in fields)


def _vat_payer(p: Profile) -> bool:
    return p.get("iva_periodicity") not in (None, "none") and not p.get("forfettario")


_INTRA = ("intra1_goods", "intra1_services", "intra2_goods", "intra2_services")


def _always(_: Profile) -> bool:
    return True


MONTHS = tuple(range(1, 13))
ALL_QUARTERS = (1, 2, 3, 4)
F24 = "art. 18 D.Lgs. 241/1997"
VP_QUARTERS = _table(
    {
        1: _fixed(5, 31),
        2: _fixed(9, 30),
        3: _fixed(11, 30),
        4: lambda year: _end_of_february(year + 1),
    }
)

RULES: tuple[Rule, ...] = (
    Rule(
        id="IVA-M",
        label="Liquidazione e versamento IVA mensile",
        who="iva_periodicity=mensile",
        fields=("iva_periodicity", "contabilita_presso_terzi"),
        applies=_is("iva_periodicity", "mensile"),
        cadence="month",
        due=_day_of_next_month(16),
        indexes=MONTHS,
        august_rule=True,
        legal_basis=f"art. 1 c.1 DPR 100/1998; {F24}",
        checklist=(
            "Registrazione fatture del mese",
            "Liquidazione IVA",
            "F24 codice 6001-6012 al cliente",
            "Esito del pagamento archiviato",
        ),
        lead_days=5,
    ),
    Rule(
        id="IVA-T",
        label="Liquidazione e versamento IVA trimestrale",
        who="iva_periodicity=trimestrale",
        fields=("iva_periodicity",),
        applies=_is("iva_periodicity", "trimestrale"),
        cadence="quarter",
        due=_table({1: _fixed(5, 16), 2: _fixed(8, 16), 3: _fixed(11, 16)}),
        indexes=(1, 2, 3),
        august_rule=True,
        legal_basis="art. 7 DPR 542/1999 (interessi dell'1%)",
        checklist=(
            "Registrazione fatture del trimestre",
            "Liquidazione IVA con interessi 1%",
            "F24 codice 6031-6033 al cliente",
            "Esito del pagamento archiviato",
        ),
        lead_days=7,
    ),
    Rule(
        id="IVA-T4",
        label="IVA quarto trimestre (con il saldo annuale)",
        who="iva_periodicity=trimestrale",
        fields=("iva_periodicity",),
        applies=_is("iva_periodicity", "trimestrale"),
        cadence="quarter",
        due=_table({4: _fixed(3, 16, 1)}),
        indexes=(4,),
        august_rule=True,
        legal_basis="art. 7 DPR 542/1999; ris. 15/E",
        checklist=(
            "Liquidazione del quarto trimestre con interessi 1%",
            "Versamento con il saldo IVA",
        ),
        lead_days=10,
    ),
    Rule(
        id="IVA-TS",
        label="IVA trimestrale speciale (art. 74 c.4)",
        who="iva_periodicity=trimestrale_speciale",
        fields=("iva_periodicity",),
        applies=_is("iva_periodicity", "trimestrale_speciale"),
        cadence="quarter",
        due=_table({1: _fixed(5, 16), 2: _fixed(8, 16), 3: _fixed(11, 16), 4: _fixed(2, 16, 1)}),
        indexes=ALL_QUARTERS,
        august_rule=True,
        legal_basis="art. 74 c.4 DPR 633/1972 (senza interessi)",
        checklist=("Registrazione fatture del trimestre", "Liquidazione IVA", "F24 al cliente"),
        lead_days=7,
    ),
    Rule(
        id="IVA-ACC",
        label="Acconto IVA",
        who="contribuenti IVA periodici (non forfettari)",
        fields=("iva_periodicity", "forfettario"),
        applies=_vat_payer,
        cadence="year",
        due=_table({0: _fixed(12, 27)}),
        indexes=(0,),
        august_rule=True,
        legal_basis="art. 6 c.2 L. 405/1990",
        checklist=(
            "Scelta del metodo (storico, previsionale, analitico)",
            "Calcolo dell'acconto",
            "F24 codice 6013/6035 al cliente",
        ),
        lead_days=10,
    ),
    Rule(
        id="IVA-SALDO",
        label="Saldo IVA annuale",
        who="contribuenti IVA periodici (non forfettari)",
        fields=("iva_periodicity", "forfettario"),
        applies=_vat_payer,
        cadence="year",
        # A payment named by the year it settles, as the F24's "anno di riferimento"
        # and the press do ("saldo IVA 2025", due 16 March 2026): not a form year.
        due=_table({0: _fixed(3, 16, 1)}),
        indexes=(0,),
        august_rule=True,
        legal_basis="art. 6 DPR 542/1999",
        checklist=(
            "Calcolo del saldo",
            "Scelta: unica soluzione, rate o differimento",
            "F24 codice 6099",
        ),
        lead_days=15,
    ),
    Rule(
        id="LIPE",
        label="Comunicazione liquidazioni periodiche IVA",
        who="contribuenti IVA periodici (non forfettari)",
        fields=("iva_periodicity", "forfettario"),
        applies=_vat_payer,
        cadence="quarter",
        due=VP_QUARTERS,
        indexes=ALL_QUARTERS,
        august_rule=True,
        legal_basis="art. 21-bis DL 78/2010; art. 3 DL 73/2022 (secondo trimestre al 30 settembre)",
        checklist=(
            "Quadri VP compilati",
            "Controllo con le liquidazioni",
            "Invio telematico",
            "Ricevuta archiviata",
        ),
        lead_days=10,
    ),
    Rule(
        id="INTRA-M",
        label="Elenchi INTRASTAT mensili",
        who="un flusso INTRASTAT mensile",
        fields=_INTRA,
        applies=lambda p: any(p.get(f) == "mensile" for f in _INTRA),
        cadence="month",
        due=_day_of_next_month(25),
        indexes=MONTHS,
        august_rule=False,
        legal_basis="art. 50 c.6 DL 331/1993; art. 3 c.1 DM 22/02/2010; Det. ADM 493869/RU del 23/12/2021",
        checklist=(
            "Raccolta fatture intracomunitarie",
            "Compilazione elenchi",
            "Invio all'Agenzia delle Dogane",
        ),
        lead_days=5,
    ),
    Rule(
        id="INTRA-T",
        label="Elenchi INTRASTAT trimestrali",
        who="un flusso INTRASTAT trimestrale",
        fields=("intra1_goods", "intra1_services"),
        applies=lambda p: "trimestrale" in (p.get("intra1_goods"), p.get("intra1_services")),
        cadence="quarter",
        due=_day_after_quarter(25),
        indexes=ALL_QUARTERS,
        august_rule=False,
        legal_basis="art. 50 c.6 DL 331/1993; art. 3 c.1 DM 22/02/2010",
        checklist=(
            "Raccolta fatture intracomunitarie",
            "Compilazione elenchi",
            "Invio all'Agenzia delle Dogane",
        ),
        lead_days=7,
    ),
    Rule(
        id="RA",
        label="Versamento ritenute d'acconto (F24)",
        # An employer is a sostituto d'imposta by law (art. 23 DPR 600/1973): the
        # IRPEF withheld on wages (code 1001) is paid monthly, as CU and 770 report.
        who="sostituto_imposta o has_employees",
        fields=("sostituto_imposta", "has_employees"),
        applies=_flag("sostituto_imposta", "has_employees"),
        cadence="month",
        due=_day_of_next_month(16),
        indexes=MONTHS,
        august_rule=True,
        legal_basis=f"{F24}; artt. 23-25-bis DPR 600/1973; art. 9 D.Lgs. 1/2024 (ritenute fino a 100 euro)",
        checklist=(
            "Compensi pagati nel mese",
            "F24 codici 1001/1040",
            "Esito del pagamento archiviato",
        ),
        lead_days=5,
    ),
    Rule(
        id="INPS-DIP",
        label="Contributi INPS dipendenti (F24 DM10)",
        who="has_employees",
        fields=("has_employees",),
        applies=_flag("has_employees"),
        cadence="month",
        due=_day_of_next_month(16),
        indexes=MONTHS,
        august_rule=True,
        legal_basis=F24,
        checklist=("Cedolini del mese", "Contributi nell'F24", "Esito del pagamento archiviato"),
        lead_days=5,
    ),
    Rule(
        id="INPS-GS-C",
        label="Contributi gestione separata (committente)",
        who="gs_committente",
        fields=("gs_committente",),
        applies=_flag("gs_committente"),
        cadence="month",
        due=_day_of_next_month(16),
        indexes=MONTHS,
        august_rule=True,
        legal_basis=f"L. 335/1995; {F24}",
        checklist=("Compensi del mese", "Contributi nell'F24"),
        lead_days=5,
    ),
    Rule(
        id="INPS-GS-P",
        label="Contributi gestione separata (professionista)",
        who="inps_gs_professionista",
        fields=("inps_gs_professionista",),
        applies=_flag("inps_gs_professionista"),
        cadence="instalment",
        due=_table({1: _fixed(6, 30), 2: _fixed(11, 30)}),
        indexes=(1, 2),
        august_rule=True,
        legal_basis="L. 335/1995; con le imposte sui redditi (art. 17 DPR 435/2001)",
        checklist=("Calcolo contributi", "F24 al cliente"),
        lead_days=10,
    ),
    Rule(
        id="INPS-IVS",
        label="Contributi fissi INPS artigiani e commercianti",
        who="inps_ivs=artigiano|commerciante",
        fields=("inps_ivs",),
        applies=_is("inps_ivs", "artigiano", "commerciante"),
        cadence="quarter",
        due=_table({1: _fixed(5, 16), 2: _fixed(8, 16), 3: _fixed(11, 16), 4: _fixed(2, 16, 1)}),
        indexes=ALL_QUARTERS,
        august_rule=True,
        legal_basis="circolare INPS annuale sui contributi IVS; " + F24,
        checklist=("Importo della rata dal cassetto previdenziale", "F24 al cliente"),
        lead_days=7,
    ),
    Rule(
        id="INAIL",
        label="Autoliquidazione premio INAIL",
        who="has_employees",
        fields=("has_employees",),
        applies=_flag("has_employees"),
        cadence="year",
        due=_table({0: _fixed(2, 16)}),
        indexes=(0,),
        august_rule=True,
        legal_basis="DPR 1124/1965; L. 449/1997",
        checklist=("Basi di calcolo dal portale INAIL", "Calcolo del premio", "F24 al cliente"),
        lead_days=15,
        # One cycle with the declaration below ("autoliquidazione 2025/2026"): the
        # premium settles the year before's wages and is named by the year it is paid.
        period_is="form_year",
        tax_year_name="retribuzioni",
    ),
    Rule(
        id="INAIL-DICH",
        label="Dichiarazione delle retribuzioni INAIL",
        who="has_employees",
        fields=("has_employees",),
        applies=_flag("has_employees"),
        cadence="year",
        due=_table({0: _end_of_february}),
        indexes=(0,),
        august_rule=True,
        legal_basis="DPR 1124/1965; L. 449/1997",
        checklist=("Retribuzioni dell'anno", "Invio telematico"),
        lead_days=15,
        period_is="form_year",
        tax_year_name="retribuzioni",
    ),
    Rule(
        id="AF-TD16",
        label="Integrazione fatture reverse charge interno (TD16)",
        who="has_reverse_charge_purchases",
        fields=("has_reverse_charge_purchases",),
        applies=_flag("has_reverse_charge_purchases"),
        cadence="month",
        due=_day_of_next_month(15),
        indexes=MONTHS,
        august_rule=True,
        legal_basis="art. 17 c.5-6 e art. 74 c.7-8 DPR 633/1972",
        checklist=(
            "Fatture N6 ricevute nel mese",
            "Integrazione e registrazione (TD16 facoltativo)",
        ),
        lead_days=5,
    ),
    Rule(
        id="AF-TD17-19",
        label="Integrazioni e autofatture acquisti dall'estero (TD17/TD18/TD19)",
        who="has_foreign_purchases",
        fields=("has_foreign_purchases",),
        applies=_flag("has_foreign_purchases"),
        cadence="month",
        due=_day_of_next_month(15),
        indexes=MONTHS,
        august_rule=True,
        legal_basis="art. 1 c.3-bis D.Lgs. 127/2015 (L. 178/2020 art. 1 c.1103); artt. 46-47 DL 331/1993",
        checklist=(
            "Documenti esteri ricevuti nel mese",
            "Invio TD17/TD18/TD19 allo SdI",
            "Registrazione",
        ),
        lead_days=5,
    ),
    Rule(
        id="BOLLO",
        label="Imposta di bollo sulle fatture elettroniche",
        who="issues_bollo_efatture",
        fields=("issues_bollo_efatture",),
        applies=_flag("issues_bollo_efatture"),
        cadence="quarter",
        due=VP_QUARTERS,
        indexes=ALL_QUARTERS,
        august_rule=True,
        legal_basis="art. 6 c.2 DM 17/06/2014; art. 17 DL 124/2019 (soglia 5.000 euro, art. 3 c.4 DL 73/2022)",
        checklist=(
            "Importo dal portale Fatture e Corrispettivi",
            "Soglia di 5.000 euro verificata",
            "F24 codici 2521-2524",
        ),
        lead_days=7,
    ),
    Rule(
        id="DICH-IVA",
        label="Dichiarazione IVA",
        who="contribuenti IVA periodici (non forfettari)",
        fields=("iva_periodicity", "forfettario"),
        applies=_vat_payer,
        cadence="year",
        due=_table({0: _fixed(4, 30)}),
        indexes=(0,),
        august_rule=True,
        legal_basis="art. 8 c.1 DPR 322/1998",
        checklist=(
            "Quadri compilati",
            "Visto di conformità se richiesto",
            "Invio telematico",
            "Ricevuta archiviata",
        ),
        lead_days=30,
        period_is="form_year",
    ),
    Rule(
        id="CU",
        label="Certificazione Unica",
        who="sostituto_imposta o has_employees",
        fields=("sostituto_imposta", "has_employees"),
        applies=_flag("sostituto_imposta", "has_employees"),
        cadence="year",
        due=_table({0: _fixed(3, 16)}),
        indexes=(0,),
        august_rule=True,
        legal_basis="art. 4 c.6-quinquies DPR 322/1998",
        checklist=(
            "CU compilate (dipendenti, assimilati, occasionali)",
            "Invio telematico",
            "Consegna ai percipienti",
        ),
        lead_days=20,
        period_is="form_year",
    ),
    Rule(
        id="CU-AUT",
        label="Certificazione Unica lavoro autonomo e provvigioni",
        who="sostituto_imposta",
        fields=("sostituto_imposta",),
        applies=_flag("sostituto_imposta"),
        cadence="year",
        due=_table({0: _fixed(4, 30)}),
        indexes=(0,),
        august_rule=True,
        legal_basis="art. 4 c.6-quinquies DPR 322/1998 come modificato dall'art. 4 D.Lgs. 81/2025",
        checklist=("CU lavoro autonomo compilate", "Invio telematico"),
        lead_days=20,
        first_year=2026,  # the CU 2026 (periodo d'imposta 2025) is the first due on 30 April
        period_is="form_year",
    ),
    Rule(
        id="770",
        label="Modello 770",
        who="sostituto_imposta o has_employees",
        fields=("sostituto_imposta", "has_employees"),
        applies=_flag("sostituto_imposta", "has_employees"),
        cadence="year",
        due=_table({0: _fixed(10, 31)}),
        indexes=(0,),
        august_rule=True,
        legal_basis="art. 4 c.4-bis DPR 322/1998",
        checklist=(
            "Quadri ST/SV compilati con i versamenti",
            "Invio telematico",
            "Ricevuta archiviata",
        ),
        lead_days=30,
        period_is="form_year",
    ),
    Rule(
        id="REDDITI",
        label="Dichiarazioni Redditi e IRAP",
        who="tutti i clienti",
        fields=(),
        applies=_always,
        cadence="year",
        due=_table({0: _fixed(10, 31)}),
        indexes=(0,),
        august_rule=True,
        legal_basis="art. 2 DPR 322/1998 (art. 11 D.Lgs. 1/2024; D.Lgs. 108/2024)",
        checklist=(
            "Documenti raccolti",
            "Dichiarazione compilata",
            "Invio telematico",
            "Ricevuta archiviata",
        ),
        lead_days=30,
        period_is="form_year",
    ),
    Rule(
        id="ACC-1",
        label="Saldo e primo acconto imposte",
        who="tutti i clienti",
        fields=(),
        applies=_always,
        cadence="year",
        due=_table({0: _fixed(6, 30)}),
        indexes=(0,),
        august_rule=True,
        legal_basis="art. 17 c.1-2 DPR 435/2001",
        checklist=(
            "Calcolo di saldo e primo acconto",
            "Scelta: unica soluzione o rate",
            "F24 al cliente",
        ),
        lead_days=15,
    ),
    Rule(
        id="ACC-2",
        label="Secondo acconto imposte",
        who="tutti i clienti",
        fields=(),
        applies=_always,
        cadence="year",
        due=_table({0: _fixed(11, 30)}),
        indexes=(0,),
        august_rule=True,
        legal_basis="art. 17 DPR 435/2001",
        checklist=("Calcolo del secondo acconto (storico o previsionale)", "F24 al cliente"),
        lead_days=15,
    ),
    Rule(
        id="IMU",
        label="IMU (acconto e saldo)",
        who="imu_owner",
        fields=("imu_owner",),
        applies=_flag("imu_owner"),
        cadence="instalment",
        due=_table({1: _fixed(6, 16), 2: _fixed(12, 16)}),
        indexes=(1, 2),
        august_rule=True,
        legal_basis="art. 1 c.762 L. 160/2019; art. 6 c.8 DL 330/1994",
        checklist=("Aliquote del comune", "Calcolo IMU", "F24 al cliente"),
        lead_days=10,
    ),
)
RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}


def find_rule(rule_id: str) -> Rule:
    """The rule with this id (any case); ValueError naming the known ones."""
    rule = RULES_BY_ID.get(rule_id.strip().upper())
    if rule is None:
        raise Refused(
            N_("no rule {rule}; the rules are {rules}"),
            rule=repr(rule_id),
            rules=", ".join(RULES_BY_ID),
        )
    return rule
