"""The language a person reads: Italian or English, through gettext catalogs.

The code's texts are English message ids, marked where they are written:
``_("...")`` for a text, ``ngettext(singular, plural, n)`` for a count,
``N_("...")`` for a constant translated where it is shown, ``Text``/``ntext``
for a text put into words later in its reader's language (a notification).
Placeholders are named (``{client}``), so a translation may reorder them.
The Italian catalog is ``locale/it/LC_MESSAGES/sempi.po``, compiled to ``.mo``
(``make i18n``: Babel extracts, updates and compiles); it is read at the first
text translated, never at start-up, so ``sempi --version`` pays nothing.

The language is chosen once per process (``use``): cli/language.py for the
full CLI, cli/fastpath.py for the hot commands; until then the code's own words,
which the services' tests read. Imports nothing of ours: every layer uses it.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import date

LANGUAGES = ("it", "en")
DEFAULT = "it"  # a new firm's (config ui.language)
DOMAIN = "sempi"
LOCALE_DIR = os.path.join(os.path.dirname(__file__), "locale")

_language = "en"
_catalogs: dict[str, Catalog | None] = {}


def use(language: str) -> None:
    """Speak ``language`` (one of LANGUAGES) from now on, in this process."""
    global _language
    _language = language


def current() -> str:
    return _language


class Catalog:
    """A compiled catalog (GNU .mo) read where a text is looked up.

    Python's gettext.GNUTranslations reads and decodes all of a catalog's 2,000
    texts when it opens it (~4.5 ms, more than the prompt's whole `status --short`
    may grow by); here opening reads the two tables of offsets (16 KB each), and a
    lookup bisects the message ids, which Babel writes sorted by (id, context),
    reading a dozen of them from the file. Italian's plural rule is gettext's own,
    one form for 1 and one for the rest (the catalog's header says so).
    tests/test_i18n_catalog.py holds this reader equal to Python's on every text."""

    MAGIC = 0x950412DE  # in the machine's byte order, as Babel's write_mo writes it

    def __init__(self, fd: int) -> None:
        header = memoryview(os.pread(fd, 20, 0)).cast("I")
        if len(header) < 5 or header[0] != self.MAGIC:
            raise OSError("not a catalog compiled in this machine's byte order")
        self.fd, self.count = fd, header[2]
        self.ids = memoryview(os.pread(fd, 8 * self.count, header[3])).cast("I")
        self.strings = memoryview(os.pread(fd, 8 * self.count, header[4])).cast("I")

    def _entry(self, table: memoryview, i: int) -> bytes:
        return os.pread(self.fd, table[2 * i], table[2 * i + 1])

    def _sort_key(self, i: int) -> tuple[str, str]:
        """Entry ``i`` as Babel sorts it: its (first) message id, its context."""
        context, _sep, ids = self._entry(self.ids, i).rpartition(b"\x04")
        return ids.split(b"\0", 1)[0].decode(), context.decode()

    def _find(self, message: str, context: str = "") -> str | None:
        wanted = (message, context)
        i, end = 0, self.count  # bisect_left, without importing bisect (0.24 ms)
        while i < end:
            middle = (i + end) // 2
            if self._sort_key(middle) < wanted:
                i = middle + 1
            else:
                end = middle
        if i < self.count and self._sort_key(i) == wanted:
            return self._entry(self.strings, i).decode()
        return None

    def gettext(self, message: str) -> str:
        found = self._find(message)
        return message if found is None else found

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        found = self._find(singular)
        if found is None or "\0" not in found:
            return singular if n == 1 else plural
        return found.split("\0")[0 if n == 1 else 1]

    def pgettext(self, context: str, message: str) -> str:
        found = self._find(message, context)
        return message if found is None else found


def _catalog() -> Catalog | None:
    language = _language
    if language == "en":
        return None
    if language not in _catalogs:
        path = os.path.join(LOCALE_DIR, language, "LC_MESSAGES", DOMAIN + ".mo")
        try:  # open for the process's life: texts are read from it as they are asked for
            _catalogs[language] = Catalog(os.open(path, os.O_RDONLY | os.O_CLOEXEC))
        except OSError:  # an install without catalogs: the code's own words
            _catalogs[language] = None
    return _catalogs[language]


def gettext(message: str) -> str:
    catalog = _catalog()
    return message if catalog is None else catalog.gettext(message)


_ = gettext


def ngettext(singular: str, plural: str, n: int) -> str:
    catalog = _catalog()
    if catalog is None:
        return singular if n == 1 else plural
    return catalog.ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    catalog = _catalog()
    return message if catalog is None else catalog.pgettext(context, message)


def N_(message: str) -> str:
    """Marks ``message`` for the catalog; it is translated where it is shown."""
    return message


def NN_(singular: str, plural: str) -> tuple[str, str]:
    """Marks a count's two forms for the catalog; ``ngettext(*pair, n)`` shows them."""
    return singular, plural


def NP_(context: str, message: str) -> str:
    """Marks ``message`` in ``context`` for the catalog (``pgettext`` shows it)."""
    return message


class Text:
    """A message put into words later, in the language of whoever reads it (a
    notification is written for its recipient, not for whoever caused it)."""

    def __init__(self, message: str, /, **params: object) -> None:
        self.message, self.plural, self.n, self.params = message, "", 0, params

    def __str__(self) -> str:
        if self.plural:
            template = ngettext(self.message, self.plural, self.n)
        else:
            template = gettext(self.message)
        return template.format(**{k: str(v) for k, v in self.params.items()})

    def __repr__(self) -> str:
        return f"Text({self.message!r})"

    def said_in(self, language: str) -> str:
        with speaking(language):
            return str(self)


def ntext(singular: str, plural: str, n: int, /, **params: object) -> Text:
    """``Text`` for a count: ``ntext("{n} task", "{n} tasks", n, n=n)``."""
    text = Text(singular, **params)
    text.plural, text.n = plural, n
    return text


class speaking:
    """``with speaking("it"):`` the texts made inside are in that language."""

    def __init__(self, language: str) -> None:
        self.language = language

    def __enter__(self) -> None:
        self.before = _language
        use(self.language)

    def __exit__(self, *exc: object) -> None:
        use(self.before)


def language_word(value: str | None) -> str | None:
    """``it``, ``it_IT.UTF-8``, ``en-GB``, ``English`` → it/en; None for any other."""
    if not value:
        return None
    head = value.strip().lower().replace("-", "_").split("_")[0].split(".")[0]
    aliases = {"italiano": "it", "italian": "it", "english": "en", "inglese": "en"}
    head = aliases.get(head, head)
    return head if head in LANGUAGES else None


def from_environment() -> str | None:
    """SEMPI_LANG's language, None when it is not set; a value naming neither
    language is refused (InvalidData), naming the variable."""
    value = os.environ.get("SEMPI_LANG")
    if not value:
        return None
    language = language_word(value)
    if language is None:
        from sempi_cli.errors import InvalidData

        problem = gettext("{value} is not one of {choices}")
        raise InvalidData("SEMPI_LANG", problem.format(value=repr(value), choices="it, en"))
    return language


def from_locale() -> str:
    """The first of LC_ALL, LC_MESSAGES, LANG that is set, as gettext reads them;
    the firm's default when it names neither language (C, POSIX, de_DE...)."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return language_word(value) or DEFAULT
    return DEFAULT


# Italian formats for a person on a terminal; scripts get ISO dates and plain numbers.
_DAYS = {
    "it": ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_MONTHS = {
    "it": (
        "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre"
        " novembre dicembre"
    ).split(),
    "en": (
        "January February March April May June July August September October November December"
    ).split(),
}


def day_named(day: date) -> str:
    """``lunedì 16 marzo 2026`` (``Monday 16 March 2026``)."""
    language = "it" if _language == "it" else "en"
    weekday = _DAYS[language][day.weekday()]
    return f"{weekday} {day.day} {_MONTHS[language][day.month - 1]} {day.year}"


def number(value: float, decimals: int = 2) -> str:
    """``1.234,56`` in Italian, ``1,234.56`` in English."""
    text = f"{value:,.{decimals}f}"
    if _language == "it":
        text = text.translate(str.maketrans(",.", ".,"))
    return text


def duration(seconds: float) -> str:
    """``1 h 30 min``, ``45 min``, ``2 h``: a time spent, to the minute, as both
    languages write it."""
    hours, rest = divmod(round(seconds / 60), 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"
