"""What an alert says, in Dutch and English: what failed, for which record, why, what to do,
and a link to the activity entry. Plain words for a bookkeeper, not a stack trace."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from koppel.notifier.alerts.domain import AlertDraft

LANGUAGES = ("nl", "en")

_ENTITY = {
    "nl": {"order": "Order", "customer": "Klant", "product": "Product", "stock": "Voorraad van"},
    "en": {"order": "Order", "customer": "Customer", "product": "Product", "stock": "Stock of"},
}
_FLOW = {
    "nl": {
        "orders": "orders",
        "customers": "klanten",
        "products": "producten",
        "stock": "voorraad",
    },
    "en": {"orders": "orders", "customers": "customers", "products": "products", "stock": "stock"},
}
_WORDS = {
    "nl": {
        "failed": "is mislukt",
        "run_failed": "Run van flow {flow} is mislukt",
        "dead": "Bericht geparkeerd na {attempts} pogingen",
        "consent": "Koppeling met {system} heeft opnieuw toestemming nodig",
        "silent": "Flow {flow} heeft al een tijd niet gedraaid",
        "what": "Wat",
        "why": "Waarom",
        "todo": "Wat te doen",
        "link": "Details",
        "more": "En nog {count} meldingen zoals deze sinds {since}.",
        "more_subject": "nog {count} keer",
        "flow": "flow",
        "digest_subject": "[Koppel] {count} meldingen",
        "digest_intro": "{count} meldingen sinds de vorige samenvatting:",
    },
    "en": {
        "failed": "failed",
        "run_failed": "Run of flow {flow} failed",
        "dead": "Message parked after {attempts} attempts",
        "consent": "The connection to {system} needs consent again",
        "silent": "Flow {flow} has gone silent",
        "what": "What",
        "why": "Why",
        "todo": "What to do",
        "link": "Details",
        "more": "And {count} more like this since {since}.",
        "more_subject": "{count} more",
        "flow": "flow",
        "digest_subject": "[Koppel] {count} alerts",
        "digest_intro": "{count} alerts since the last digest:",
    },
}

_VAT_MAPS = ("vat", "btw")


def _value_label(map_name: str, lang: str) -> str:
    if any(part in map_name.lower() for part in _VAT_MAPS):
        return "btw-code" if lang == "nl" else "VAT code"
    return "waarde" if lang == "nl" else "value"


def what_to_do(draft: AlertDraft, lang: str) -> str:
    """One sentence per reason code, filled in from the failure's details."""
    d: dict[str, Any] = draft.details
    nl = lang == "nl"
    code = draft.reason_code
    if code == "unmapped_value":
        map_name = str(d.get("map_name") or "?")
        label = _value_label(map_name, lang)
        country = d.get("country")
        where = (f" voor land {country}" if nl else f" for country {country}") if country else ""
        value = d.get("value", "")
        if nl:
            return f"Koppel {label} '{value}'{where} in waardetabel {map_name} en speel de mislukte records opnieuw af."
        return (
            f"Map {label} '{value}'{where} in value map {map_name}, then replay the failed records."
        )
    if code == "missing_products":
        skus = ", ".join(str(s) for s in d.get("missing_skus", [])) or "?"
        if nl:
            return f"Maak artikel(en) {skus} aan in AccountView (of koppel de SKU in sku_map) en speel de order opnieuw af."
        return f"Create article(s) {skus} in AccountView (or map the SKU in sku_map), then replay the order."
    if code == "needs_consent":
        system = d.get("system", "de koppeling" if nl else "the connection")
        if nl:
            return f"Log in bij Koppel en geef opnieuw toestemming voor {system} (Instellingen > Koppelingen)."
        return f"Sign in to Koppel and give consent for {system} again (Settings > Connections)."
    if code in ("invalid_email", "missing_email"):
        if nl:
            return "Corrigeer het e-mailadres van de klant in eAccounting; de order wordt bij de volgende run opnieuw geprobeerd."
        return "Correct the customer's e-mail address in eAccounting; the next run tries the order again."
    if code == "stock_module_on":
        if nl:
            return "Zet in eAccounting de voorraadmodule uit voor dit artikel, of zet de voorraadflow uit voor deze administratie."
        return "Turn the stock module off for this article in eAccounting, or turn the stock flow off for this company."
    if code in ("rate_limited", "too_many_requests"):
        if nl:
            return "Niets: Koppel wacht en probeert het vanzelf opnieuw. Blijft dit terugkomen, verlaag dan de batchgrootte."
        return "Nothing: Koppel waits and tries again by itself. If it keeps happening, lower the batch size."
    if code in ("remote_unavailable", "server_error", "timeout", "connection_failed"):
        if nl:
            return "Controleer of AccountView.net en eAccounting bereikbaar zijn; Koppel probeert het opnieuw."
        return "Check that AccountView.net and eAccounting are reachable; Koppel will try again."
    if code in ("unauthorized", "forbidden", "no_connection"):
        if nl:
            return "Controleer de koppeling en de rechten van de API-gebruiker (Instellingen > Koppelingen)."
        return "Check the connection and the API user's permissions (Settings > Connections)."
    if code in ("missing_value", "invalid_value", "field_too_long", "validation_failed"):
        field = d.get("field") or d.get("target_field")
        where = f" ({field})" if field else ""
        if nl:
            return f"Vul het bronrecord aan of pas de veldmapping aan{where}, en speel het record opnieuw af."
        return f"Complete the source record or adjust the field mapping{where}, then replay the record."
    if code in ("invalid_mapping", "mapping_error"):
        if nl:
            return "Controleer de mapping van deze flow met een voorbeeld (Mapping > Voorbeeld) en sla hem opnieuw op."
        return "Check this flow's mapping on a sample (Mapping > Preview) and save it again."
    if code == "silent_flow":
        if nl:
            return "Controleer of de flow aanstaat en de koppelingen werken; start zo nodig handmatig een run."
        return "Check that the flow is switched on and the connections work; start a run by hand if needed."
    if draft.kind == "dead_letter":
        if nl:
            return "Los de oorzaak op en speel het bericht opnieuw af via Geparkeerde berichten."
        return "Fix the cause, then replay the message from Dead letters."
    if nl:
        return "Bekijk de details in het activiteitenlog en speel het record opnieuw af als de oorzaak is opgelost."
    return "Look at the details in the activity log and replay the record once the cause is fixed."


def headline(draft: AlertDraft, lang: str) -> str:
    """'Order 1042 failed', 'Run of flow stock failed', ..."""
    w = _WORDS[lang]
    flow = _FLOW[lang].get(draft.flow or "", draft.flow or "?")
    if draft.kind == "needs_consent":
        return w["consent"].format(system=draft.details.get("system", "?"))
    if draft.kind == "silent_flow":
        return w["silent"].format(flow=flow)
    if draft.kind == "dead_letter" and not draft.entity_type:
        return w["dead"].format(attempts=draft.details.get("attempts", "?"))
    if draft.entity_type:
        label = _ENTITY[lang].get(draft.entity_type, draft.entity_type)
        return f"{label} {draft.entity_key} {w['failed']}"
    return w["run_failed"].format(flow=flow)


def why(draft: AlertDraft, lang: str) -> str:
    """The failing service's reason; the silent-flow reason is worded here."""
    if draft.kind != "silent_flow":
        return draft.reason
    every = int(float(draft.details.get("expected_every_seconds") or 0) // 60)
    last = draft.details.get("last_success_at") or ("nog nooit" if lang == "nl" else "never")
    if lang == "nl":
        return (
            f"geen geslaagde run sinds {last}, terwijl de flow elke {every} min hoort te draaien."
        )
    return f"no successful run since {last}, while the flow should run every {every} min."


def activity_link(draft: AlertDraft, base_url: str) -> str:
    base = base_url.rstrip("/")
    if draft.correlation_id:
        return f"{base}/app/activity/{draft.correlation_id}"
    return f"{base}/app/activity?flow={draft.flow}" if draft.flow else f"{base}/app/activity"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    headline: str
    what_to_do: str
    link: str


def _since(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "?"


def render(
    draft: AlertDraft,
    lang: str,
    base_url: str,
    *,
    folded: int = 0,
    folded_since: datetime | None = None,
    summary: bool = False,
) -> Rendered:
    lang = lang if lang in LANGUAGES else "nl"
    w = _WORDS[lang]
    title = headline(draft, lang)
    action = what_to_do(draft, lang)
    link = activity_link(draft, base_url)
    more = w["more"].format(count=folded, since=_since(folded_since)) if folded else ""
    subject = f"[Koppel] {title}"
    if summary:
        subject = f"[Koppel] {w['more_subject'].format(count=folded)}: {title}"
    flow = _FLOW[lang].get(draft.flow or "", draft.flow or "-")
    lines = [more] if summary and more else []
    lines += [
        f"{w['what']}: {title} ({w['flow']} {flow}"
        + (f", {draft.step}" if draft.step else "")
        + ")",
        f"{w['why']}: {why(draft, lang)}",
        f"{w['todo']}: {action}",
        f"{w['link']}: {link}",
    ]
    if more and not summary:
        lines.append(more)
    return Rendered(subject, "\n".join(lines) + "\n", title, action, link)


def render_digest(items: list[Rendered], lang: str) -> tuple[str, str]:
    lang = lang if lang in LANGUAGES else "nl"
    w = _WORDS[lang]
    subject = w["digest_subject"].format(count=len(items))
    blocks = [w["digest_intro"].format(count=len(items)), ""]
    for number, item in enumerate(items, 1):
        blocks.append(f"{number}. {item.text}")
    return subject, "\n".join(blocks)
