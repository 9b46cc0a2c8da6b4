"""The text of a firm's chat, for bench/chat.py: Italian accounting chatter.

A vocabulary of a few thousand words in rank order (the words a firm's people
write most first: function words, then fattura, F24, scadenza, ...; people's
names in the middle; a long tail of rarer words), drawn with a Zipf
distribution (probability of rank r proportional to 1/r^s), as word frequencies
in real text are. Some messages carry the numbers such chats are full of:
amounts, invoice numbers, dates, tax codes (codici tributo), protocol numbers.

The rarer words past the real ones are made from Italian syllables and endings
("coramento", "silvetta"): words nobody types often, which is what the tail of
a real vocabulary is; none of them starts with "fattur", so the prefix search
`fattur*` finds the real words only.
"""

from __future__ import annotations

import random
from itertools import accumulate

ZIPF_S = 1.1
VOCABULARY = 5000  # words in all
VOCABULARY_SEED = 5000

# Most frequent first: the order gives each word its Zipf rank.
_RANKED = """
di e il la per che a in non è del ok con un una le ho grazie da ci fattura al si ma
anche i lo se mi sono già ha F24 poi domani oggi come scadenza alla su più cliente
IVA buongiorno ciao fatture pagamento mandato abbiamo ancora quando questo entro dopo
sì no fatto bene tutto controllo inviato ricevuto banca conto documenti modello
manca serve prima subito sempre perché quindi allora appena ecco credo verifica
saldo acconto versamento bonifico ritenuta ritenute dichiarazione liquidazione
bilancio contabilità registrazione nota credito debito cedolini contributi INPS
Agenzia Entrate SDI XML scarto estratto ricevuta documento allegato allegati portale
mese anno trimestre gennaio febbraio marzo aprile maggio giugno luglio agosto
settembre ottobre novembre dicembre lunedì martedì mercoledì giovedì venerdì
firma delega cassetto fiscale codice tributo avviso cartella sollecito rata rate
fornitore fornitori clienti acquisto vendita spese rimborso scontrino corrispettivi
telematico registro imprese visura PEC socio soci amministratore verbale assemblea
capitale utile perdita riserva dividendi patrimonio deposito durc certificazione
compensazione redditi IRPEF IRES IRAP IMU TARI CU 770 LIPE Intrastat esterometro
forfettario regime ordinario semplificato apertura chiusura variazione cessione
imposta bollo marca tassa diritto annuale camera commercio affitto locazione utenze
contratto preventivo ordine magazzino rimanenze inventario cespite ammortamento
ratei risconti leasing mutuo fido anticipo interessi sanzione ravvedimento
rateizzazione bonario precompilata 730 dichiarativo regolarità crediti debiti
pagato pagata pagare pagati versato versata versare inviare inviata mandare mandata
caricato caricata caricare controllato controllata controllare verificato verificata
sentito chiamato chiamo scrivo mando giro carico aspetto aspettiamo manda manderò
ricevute quietanza quietanze protocollo telematica trasmissione trasmesso trasmessa
fatturato fatturazione fatturare fatturata fatturati elettronica elettroniche
differita immediata accompagnatoria reverse charge split payment autofattura
integrazione nota integrativa stato patrimoniale economico rendiconto prospetto
partita studio pratica pratiche scadenze urgente importante dubbio domanda risposta
settimana prossima scorsa giorni giorno ore mattina pomeriggio sera stasera
telefonato telefonata email mail messaggio allego trovi cartellina cartelle cliente
archivio copia originale scansione pdf firmato firmata firmare timbro busta paga
dipendente dipendenti assunzione licenziamento TFR ferie permessi malattia INAIL
autoliquidazione premio collaboratore collaboratori professionista professionisti
parcella onorario compenso compensi notula preavviso anticipato posticipato proroga
termine termini slittamento rinvio calendario agenda appuntamento riunione call
gestionale software import export file errore errori corretto corretta correggere
rettifica storno stornare annullare annullata sostitutiva integrativa correttiva
tardiva omessa omesso mancato mancata ritardo ritardi solleciti diffida legale
avvocato notaio perizia stima valore valori importo importi totale parziale residuo
differenza quadratura squadratura riconciliazione movimenti movimento causale
causali piano conti mastrino partitario scheda schede saldi apertura chiusure
""".split()

_NAMES = """
Marco Giulia Luca Anna Paolo Francesca Andrea Chiara Matteo Sara Giovanni Laura
Alessandro Elena Stefano Valentina Roberto Silvia Davide Federica Simone Martina
Bianchi Colombo Esposito Ferrari Gallo Greco Lombardi Marino Moretti Neri Orsini
Pellegrini Ricci Romano Rossi Russo Sartori Testa Valentini Verdi Villa Zanetti
Milano Roma Torino Bologna Napoli Firenze Bergamo Brescia Verona Padova
""".split()

_SYLLABLES = (
    "ba be bi bo ca ce ci co cu da de di do fa fe fi fo ga ge gi go la le li lo lu ma me mi mo"
    " na ne ni no pa pe pi po ra re ri ro sa se si so ta te ti to tu va ve vi vo za ze zo"
).split()
_ENDINGS = "zione mento ale ità ore ino etta ato ente ista ivo ario ura aggio iere".split()

_TRIBUTI = ("1001", "1040", "1627", "1668", "1712", "3800", "3918", "6001", "6031", "6099")
_UNITS = ("euro", "€")


def vocabulary() -> list[str]:
    """The words in rank order: the real ones, the names, then made-up rare words
    (the same ones in every store: their own seed)."""
    rng = random.Random(VOCABULARY_SEED)
    words = list(dict.fromkeys([*_RANKED, *_NAMES]))
    seen = {w.lower() for w in words}
    while len(words) < VOCABULARY:
        word = "".join(rng.choices(_SYLLABLES, k=rng.randint(1, 3))) + rng.choice(_ENDINGS)
        if word not in seen and not word.startswith("fat"):
            seen.add(word)
            words.append(word)
    return words


class Chatter:
    """Message texts: Zipf-distributed words, a few numbers."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.words = vocabulary()
        self.cumulative = list(accumulate(r**-ZIPF_S for r in range(1, len(self.words) + 1)))

    def _number(self) -> str:
        rng = self.rng
        kind = rng.randrange(5)
        if kind == 0:
            return f"{rng.randint(1, 99)}.{rng.randint(0, 999):03d},{rng.randint(0, 99):02d} {rng.choice(_UNITS)}"
        if kind == 1:
            return f"n. {rng.randint(1, 999)}/{rng.choice((2025, 2026))}"
        if kind == 2:
            return f"entro il {rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}"
        if kind == 3:
            return f"codice {rng.choice(_TRIBUTI)}"
        return f"prot. {rng.randint(10**9, 10**10 - 1)}"

    def text(self) -> str:
        rng = self.rng
        count = min(80, max(2, int(rng.lognormvariate(2.4, 0.6))))  # median 11 words
        words = rng.choices(self.words, cum_weights=self.cumulative, k=count)
        if rng.random() < 0.2:
            words.insert(rng.randint(1, count), self._number())
        text = " ".join(words)
        return text[0].upper() + text[1:] + rng.choice(".....?!")
