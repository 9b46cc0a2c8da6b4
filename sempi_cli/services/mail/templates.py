"""The texts sempi sends: Italian templates carrying the firm's name, rendered with
every header value on one line, secrets (an activation code) kept out of the
stored body as placeholders and filled in only in the delivered copy."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

_SIGNATURE = "\n\nCordiali saluti,\n{firm}\n"


@dataclass(frozen=True)
class Template:
    """Italian plain text with ``{key}`` fields; ``{firm}`` is the firm's name."""

    subject: str
    body: str
    required: tuple[str, ...]
    defaults: dict[str, str] = field(default_factory=dict)
    secret: tuple[str, ...] = ()  # context keys never stored in the body


TEMPLATES: dict[str, Template] = {
    "invitation": Template(
        subject="Invito — {firm}",
        body=(
            "Gentile {full_name},\n\n"
            "{firm} la invita nello spazio di lavoro riservato di {client}: qui troverà gli "
            "incarichi, i documenti e le comunicazioni che la riguardano.\n\n"
            "Il suo nome utente è: {email}\n\n"
            "Per attivare l'accesso scelga una password (almeno 12 caratteri) con il comando\n\n"
            "    sempi user activate --email {email}\n\n"
            "e, quando le viene chiesto, inserisca questo codice di attivazione:\n\n"
            "    {code}\n\n"
            "Il codice vale una sola volta, fino al {expires}. Se non aspettava questo "
            "messaggio può ignorarlo: senza il codice nessuno può attivare l'account." + _SIGNATURE
        ),
        required=("full_name", "email", "code", "expires"),
        defaults={"client": "{firm}"},
        secret=("code",),
    ),
    # A client migrated with a coupon (services/coupons/migrate.py): its account in
    # the vendor's cloud product. sempi never knows, stores or sends that product's
    # password: the client chooses it at the first access.
    "credentials": Template(
        subject="Il suo accesso — {firm}",
        body=(
            "Gentile {full_name},\n\n"
            "{studio} ha attivato per {client} una licenza Standard in sola lettura del "
            "prodotto di fatturazione in cloud, valida fino al {ends_on}: potrà consultare "
            "i documenti, cambiare le impostazioni ed esportare una copia dei dati.\n\n"
            "Il suo account è attivo.\n\n"
            "Nome utente: {email}\n"
            "Indirizzo di accesso: {url}\n\n"
            "Al primo accesso dovrà scegliere la sua password (o cambiare quella "
            "provvisoria, se gliene è stata data una): la scelga lei e non la comunichi a "
            "nessuno. Per sicurezza una password non viene mai inviata per e-mail: {firm} "
            "non la conosce e non la conserva." + _SIGNATURE
        ),
        required=("full_name", "email"),
        defaults={
            "studio": "{firm}",
            "client": "la sua azienda",
            "ends_on": "31 dicembre",
            "url": "la pagina di accesso del prodotto",
        },
    ),
    "consent": Template(
        subject="Richiesta di consenso ai servizi SMART — {firm}",
        body=(
            "Gentile {full_name},\n\n"
            "{studio} chiede il consenso di {client} per operare, con le proprie "
            "credenziali, nei servizi SMART attivi ({services}).\n\n"
            "Può rispondere sì o no dal suo spazio di lavoro su sempi, con il comando\n\n"
            "    sempi consent answer {client_id} yes    (per dare il consenso)\n"
            "    sempi consent answer {client_id} no     (per negarlo)\n\n"
            "e cambiare la risposta in qualsiasi momento: vale l'ultima data.\n\n"
            "Senza il suo consenso lo studio non accede ai servizi SMART dell'azienda." + _SIGNATURE
        ),
        required=("full_name", "client"),
        defaults={
            "studio": "{firm}",
            "services": "Fattura SMART e gli altri servizi attivi",
            "client_id": "CLIENTE",
        },
    ),
    # A notice an automation rule sends (services/automation/actions.py, --do mail):
    # the rule's own words, and what the event was about.
    "notice": Template(
        subject="{title} — {firm}",
        body=("Gentile {full_name},\n\n{message}\n\nRiguarda: {title} ({client})." + _SIGNATURE),
        required=("full_name", "message"),
        defaults={"title": "un aggiornamento", "client": "{firm}"},
    ),
    # The notifications a person chose to receive by e-mail (services/notify/digest.py):
    # the list is last, so each later notification of the same run adds a line.
    "notifications": Template(
        subject="Le sue notifiche — {firm}",
        body=(
            "Gentile {full_name},\n\n"
            "ecco le notifiche che ha scelto di ricevere per e-mail da {firm}. Le trova "
            "anche con 'sempi notify list'; per scegliere come riceverle: "
            "'sempi notify prefs'.\n\n"
            "{items}"
        ),
        required=("full_name", "items"),
    ),
    # The one-time code a signer without two-step login types to sign a document
    # (services/signing/codes.py); like an invitation's, the code never enters the store.
    "sign_code": Template(
        subject="Il suo codice per firmare — {firm}",
        body=(
            "Gentile {full_name},\n\n"
            "ecco il codice monouso per firmare il documento «{title}» (richiesta "
            "{request_id}) di {client}:\n\n"
            "    {code}\n\n"
            "Lo inserisca in sempi quando le viene chiesto. Il codice vale una sola volta, "
            "fino al {expires}; con il codice e la sua dichiarazione il documento è firmato "
            "con firma elettronica semplice.\n\n"
            "Se non ha chiesto lei questo codice non lo comunichi a nessuno e avverta "
            "{firm}: qualcuno potrebbe usare il suo accesso." + _SIGNATURE
        ),
        required=("full_name", "title", "request_id", "code", "expires"),
        defaults={"client": "{firm}"},
        secret=("code",),
    ),
    # A document sent for signature (services/signing/requests.py): what it is, what
    # signing it means, the commands to read, sign or decline it.
    "sign_request": Template(
        subject="Documento da firmare: {title} — {firm}",
        body=(
            "Gentile {full_name},\n\n"
            "{firm} le chiede di firmare il documento «{title}» (richiesta {request_id}) "
            "di {client}. Da firmare entro: {due}.\n\n"
            "Per leggerlo:\n\n"
            "    sempi sign show {request_id}\n\n"
            "Per firmarlo:\n\n"
            "    sempi sign accept {request_id}\n\n"
            "Per rifiutare, dicendo il motivo:\n\n"
            '    sempi sign decline {request_id} --reason "..."\n\n'
            "La firma è una firma elettronica semplice: la conferma con un codice monouso "
            "(quello della sua app di autenticazione, oppure un codice che le inviamo per "
            "e-mail quando firma) e con la dichiarazione di aver letto il documento. Non è "
            "una firma elettronica qualificata né una firma digitale. Quando tutti i "
            "firmatari hanno firmato, {firm} conserva il documento con il certificato di "
            "completamento e il proprio sigillo." + _SIGNATURE
        ),
        required=("full_name", "title", "request_id"),
        defaults={"client": "{firm}", "due": "nessuna scadenza"},
    ),
}


def secret_mark(key: str) -> str:
    """What the stored body holds in place of a secret context value."""
    return f"[{key}: shown only in the delivered message]"


def _one_line(value: object) -> str:
    return " ".join(str(value).split())


def render(kind: str, firm: str, context: dict) -> tuple[str, str, dict[str, str]]:
    """Subject, stored body (secrets as placeholders) and the secret values. Every
    value is made one line: some end up in headers (the subject, the sender's name)."""
    template = TEMPLATES.get(kind)
    if template is None:
        raise ValueError(f"no mail template {kind!r} (known: {', '.join(TEMPLATES)})")
    missing = [k for k in template.required if context.get(k) in (None, "")]
    if missing:
        raise ValueError(f"the {kind} template needs {', '.join(missing)}")
    firm = _one_line(firm)
    values = {k: v.format(firm=firm) for k, v in template.defaults.items()}
    values.update({k: _one_line(v) for k, v in context.items() if v is not None and v != ""})
    values["firm"] = firm
    secrets = {k: values[k] for k in template.secret}
    shown = {**values, **{k: secret_mark(k) for k in template.secret}}
    subject = _one_line(template.subject.format_map(shown))
    body = template.body.format_map(shown)
    return subject, body, secrets


def fill_secrets(kind: str, body: str, secret_values: str | None) -> str | None:
    """The body as delivered, placeholders replaced by the secret values; None when
    a secret was erased (the message must not go out with a placeholder)."""
    for key, value in json.loads(secret_values or "{}").items():
        body = body.replace(secret_mark(key), value)
    template = TEMPLATES.get(kind)
    if template and any(secret_mark(k) in body for k in template.secret):
        return None
    return body


def firm_name(db: sqlite3.Connection) -> str:
    row = db.execute("SELECT name FROM firm").fetchone()
    return _one_line(row[0]) if row else "sempi"
