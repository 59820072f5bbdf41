"""Dutch and English texts of the pages (Dutch first).

The language is the ``koppel_lang`` cookie, else the browser's ``Accept-Language``, else
Dutch. A key missing in a language shows the other language's text rather than the key.
"""

from __future__ import annotations

from fastapi import Request

LANGS = ("nl", "en")
DEFAULT = "nl"

TEXTS: dict[str, tuple[str, str]] = {
    # layout
    "app.name": ("Koppel", "Koppel"),
    "nav.dashboard": ("Overzicht", "Dashboard"),
    "nav.activity": ("Activiteitenlog", "Activity log"),
    "nav.setup": ("Instellen", "Set-up"),
    "nav.mappings": ("Koppeltabellen", "Mappings"),
    "nav.skip": ("Naar de inhoud", "Skip to content"),
    "nav.main": ("Hoofdmenu", "Main menu"),
    "lang.switch": ("Taal", "Language"),
    "logout": ("Afmelden", "Sign out"),
    "signed_in_as": ("Aangemeld als", "Signed in as"),
    # login
    "login.title": ("Aanmelden", "Sign in"),
    "login.intro": (
        "Meld je aan met de API-sleutel van je organisatie.",
        "Sign in with your organisation's API key.",
    ),
    "login.key": ("API-sleutel", "API key"),
    "login.submit": ("Aanmelden", "Sign in"),
    "login.failed": ("Deze API-sleutel werkt niet.", "This API key does not work."),
    "login.admin": (
        "Dit is de beheerderssleutel; meld je aan met de sleutel van een organisatie.",
        "This is the admin key; sign in with an organisation's key.",
    ),
    "logged_out": ("Je bent afgemeld.", "You are signed out."),
    "csrf.refused": (
        "Het formulier is verlopen of niet van deze site. Probeer het opnieuw.",
        "The form expired or did not come from this site. Please try again.",
    ),
    # common
    "save": ("Opslaan", "Save"),
    "saved": ("Opgeslagen.", "Saved."),
    "next": ("Volgende", "Next"),
    "back": ("Vorige", "Back"),
    "yes": ("ja", "yes"),
    "no": ("nee", "no"),
    "none": ("geen", "none"),
    "older": ("Oudere", "Older"),
    "newest": ("Nieuwste", "Newest"),
    "filter": ("Filteren", "Filter"),
    "all": ("alle", "all"),
    "error": ("Er ging iets mis", "Something went wrong"),
    "fix_fields": ("Verbeter de gemarkeerde velden.", "Please correct the marked fields."),
    "not_available": (
        "Deze gegevens zijn (nog) niet beschikbaar.",
        "This information is not available (yet).",
    ),
    # flows
    "flow.orders": ("Verkooporders", "Sales orders"),
    "flow.customers": ("Klanten", "Customers"),
    "flow.products": ("Artikelen", "Products"),
    "flow.stock": ("Voorraad", "Stock"),
    "flow.orders.dir": ("eAccounting → AccountView", "eAccounting → AccountView"),
    "flow.customers.dir": ("eAccounting → AccountView", "eAccounting → AccountView"),
    "flow.products.dir": ("AccountView → eAccounting", "AccountView → eAccounting"),
    "flow.stock.dir": ("AccountView → eAccounting", "AccountView → eAccounting"),
    "flow.on": ("aan", "on"),
    "flow.off": ("uit", "off"),
    "run_now": ("Nu uitvoeren", "Run now"),
    "run_started": ("De run is gestart.", "The run has started."),
    # dashboard
    "dash.title": ("Overzicht", "Dashboard"),
    "dash.connections": ("Verbindingen", "Connections"),
    "dash.flows": ("Koppelingen", "Flows"),
    "dash.last_runs": ("Laatste runs", "Last runs"),
    "dash.per_day": ("Records per dag", "Records per day"),
    "dash.failures": ("Open fouten", "Open failures"),
    "dash.dead_letters": ("Geparkeerde berichten", "Dead letters"),
    "dash.no_runs": ("Nog geen runs.", "No runs yet."),
    "dash.no_failures": ("Geen open fouten.", "No open failures."),
    "dash.no_dead": ("Geen geparkeerde berichten.", "No dead letters."),
    "dash.replay_all": ("Alles opnieuw aanbieden", "Replay all"),
    "dash.setup_first": (
        "Nog niets ingesteld. Begin met de wizard.",
        "Nothing set up yet. Start with the wizard.",
    ),
    "replayed": ("Opnieuw aangeboden", "Replayed"),
    "system.eaccounting": ("Visma eAccounting", "Visma eAccounting"),
    "system.accountview": ("AccountView", "AccountView"),
    "status.connected": ("verbonden", "connected"),
    "status.needs_consent": ("toestemming nodig", "needs consent"),
    "status.failing": ("storing", "failing"),
    "status.not_configured": ("niet ingesteld", "not set up"),
    "status.running": ("bezig", "running"),
    "status.succeeded": ("gelukt", "succeeded"),
    "status.partially_failed": ("deels mislukt", "partially failed"),
    "status.failed": ("mislukt", "failed"),
    "status.ok": ("gelukt", "ok"),
    "status.synced": ("gesynchroniseerd", "synced"),
    "status.skipped": ("overgeslagen", "skipped"),
    "status.info": ("info", "info"),
    "status.parked": ("geparkeerd", "parked"),
    "col.when": ("Wanneer", "When"),
    "col.flow": ("Koppeling", "Flow"),
    "col.status": ("Status", "Status"),
    "col.step": ("Stap", "Step"),
    "col.record": ("Record", "Record"),
    "col.reason": ("Reden", "Reason"),
    "col.fetched": ("opgehaald", "fetched"),
    "col.synced": ("verwerkt", "synced"),
    "col.skipped": ("overgeslagen", "skipped"),
    "col.failed": ("mislukt", "failed"),
    "col.attempts": ("pogingen", "attempts"),
    "col.day": ("Dag", "Day"),
    "col.trigger": ("Aanleiding", "Trigger"),
    "dry_run": ("proefrun", "dry run"),
    # activity
    "act.title": ("Activiteitenlog", "Activity log"),
    "act.entity": ("Record (nummer, SKU, e-mail)", "Record (number, SKU, e-mail)"),
    "act.q": ("Tekst in de reden", "Text in the reason"),
    "act.since": ("Vanaf", "Since"),
    "act.empty": ("Geen activiteit gevonden.", "No activity found."),
    "act.open": ("Bekijken", "Open"),
    "journey.title": ("Reis van een record", "A record's journey"),
    "journey.source": ("Uit het bronsysteem", "From the source system"),
    "journey.pushed": ("Naar het doelsysteem", "Pushed to the target system"),
    "journey.diff_help": (
        "Gemarkeerd: waarden die alleen aan deze kant voorkomen.",
        "Highlighted: values that appear on this side only.",
    ),
    "journey.trace": ("Bekijk de trace", "View the trace"),
    "journey.steps": ("Stappen", "Steps"),
    "journey.replay": ("Opnieuw verwerken", "Replay this record"),
    "journey.fix_map": ("Waardetabel aanvullen", "Fill in the value map"),
    "vm.missing": (
        "Deze waarde kwam voor maar staat nog niet in de tabel; vul in waarnaar ze vertaalt:",
        "This value occurred but is not in the map yet; fill in what it translates to:",
    ),
    "journey.later": ("Dit record is daarna opnieuw verwerkt:", "This record was processed again:"),
    "journey.open_later": ("open die reis", "open that journey"),
    "journey.nothing": ("(niets)", "(nothing)"),
    # mappings
    "map.title": ("Koppeltabel", "Mapping"),
    "map.intro": (
        "Elk doelveld krijgt een uitdrukking; leeg laten betekent: de standaard.",
        "Each target field gets an expression; leave it empty for the default.",
    ),
    "map.target": ("Doelveld", "Target field"),
    "map.expression": ("Uitdrukking", "Expression"),
    "map.add": ("Nieuw doelveld", "New target field"),
    "map.version": ("Versie", "Version"),
    "map.preview": ("Voorbeeld", "Preview"),
    "map.sample": ("Voorbeeldrecord (JSON)", "Sample record (JSON)"),
    "map.result": ("Resultaat", "Result"),
    "map.lineage": ("Herkomst per veld", "Lineage per field"),
    "map.history": ("Geschiedenis", "History"),
    "map.rollback": ("Terugzetten", "Roll back"),
    "map.value_maps": ("Waardetabellen", "Value maps"),
    "map.bad_json": ("Dit is geen geldige JSON.", "This is not valid JSON."),
    "vm.key": ("Waarde in de bron", "Source value"),
    "vm.value": ("Wordt in het doel", "Becomes in the target"),
    "vm.default": ("Standaard (als niets past)", "Default (when nothing matches)"),
    "vm.keys_are": ("Sleutels zijn", "Keys are"),
    # wizard
    "wiz.title": ("Instellen", "Set-up"),
    "wiz.step.connections": ("Verbindingen", "Connections"),
    "wiz.step.flows": ("Koppelingen en vragen", "Flows and questions"),
    "wiz.step.maps": ("Waardetabellen", "Value maps"),
    "wiz.step.dry": ("Proefrun", "Dry run"),
    "wiz.step.live": ("Aanzetten", "Switch on"),
    "wiz.steps": ("Stappen", "Steps"),
    "conn.api_base_url": ("API-adres", "API base URL"),
    "conn.auth_base_url": ("Adres voor inloggen (OAuth)", "Sign-in (OAuth) base URL"),
    "conn.client_id": ("Client-id", "Client id"),
    "conn.client_secret": ("Client-secret", "Client secret"),
    "conn.secret_kept": (
        "Er is een secret opgeslagen; laat leeg om het te houden.",
        "A secret is stored; leave empty to keep it.",
    ),
    "conn.company": ("AccountView-administratie (bedrijfscode)", "AccountView company (code)"),
    "conn.authorize": ("Toestemming geven", "Give consent"),
    "conn.test": ("Verbinding testen", "Test connection"),
    "conn.test_ok": ("De verbinding werkt.", "The connection works."),
    "conn.test_failed": ("De test is mislukt.", "The test failed."),
    "conn.consent_ok": ("Toestemming ontvangen.", "Consent received."),
    "conn.consent_failed": ("Toestemming is mislukt", "Consent failed"),
    "wiz.choose_flows": ("Welke koppelingen wil je gebruiken?", "Which flows do you want?"),
    "wiz.use_flow": ("Gebruik deze koppeling", "Use this flow"),
    "wiz.every_minutes": ("Elke zoveel minuten uitvoeren", "Run every so many minutes"),
    "q.orders.statuses": (
        "Welke orderstatussen moeten worden overgenomen?",
        "Which order statuses should be copied?",
    ),
    "q.orders.only_paid": ("Alleen betaalde orders", "Only paid orders"),
    "q.orders.target": (
        "Wat moet er in AccountView van een order worden?",
        "What should an order become in AccountView?",
    ),
    "q.orders.target.sales_order": ("een verkooporder", "a sales order"),
    "q.orders.target.sales_invoice": ("een verkoopfactuur", "a sales invoice"),
    "q.default_debtor": (
        "Alles op één debiteur boeken? Vul dan het debiteurnummer in (anders leeg).",
        "Book everything on one debtor? Enter its number (else leave empty).",
    ),
    "q.orders.shipping_article": (
        "Artikelcode voor verzendkosten",
        "Article code for shipping costs",
    ),
    "q.orders.do_not_import_before": (
        "Orders van vóór deze datum nooit overnemen",
        "Never import orders dated before",
    ),
    "q.orders.batch_size": (
        "Hoeveel orders per run (maximaal)",
        "How many orders per run (at most)",
    ),
    "q.customers.update_existing": (
        "Bestaande debiteuren bijwerken (herkend aan e-mail)",
        "Update existing debtors (matched by e-mail)",
    ),
    "q.products.update_product_information": (
        "Artikelinformatie bijwerken, ook velden die in eAccounting zijn aangevuld",
        "Update product information, also fields enriched in eAccounting",
    ),
    "q.products.create_only_fields": (
        "Velden die alleen bij het aanmaken worden gevuld (komma's ertussen)",
        "Fields written only when the article is created (comma separated)",
    ),
    "q.products.match_by": ("Hoe vinden we het artikel terug?", "How do we find the article?"),
    "q.products.match_by.sku": ("op artikelcode (SKU)", "by SKU"),
    "q.products.match_by.sku_then_ean": ("op SKU, anders EAN", "by SKU, else EAN"),
    "q.products.price_includes_vat": (
        "Verkoopprijzen in AccountView zijn inclusief btw",
        "AccountView sales prices include VAT",
    ),
    "q.stock.formula": ("Hoe wordt de voorraad berekend?", "How is stock computed?"),
    "q.stock.formula.available_minus_reservations": (
        "beschikbaar min verkoopreserveringen (standaard)",
        "available minus sales reservations (default)",
    ),
    "q.stock.formula.available": ("beschikbaar", "available"),
    "q.stock.formula.on_hand": ("technische voorraad", "on hand"),
    "q.stock.formula.on_hand_minus_reservations": (
        "technische voorraad min reserveringen",
        "on hand minus reservations",
    ),
    "q.stock.manage_stock": (
        "eAccounting houdt voorraad bij voor deze artikelen",
        "eAccounting keeps stock for these articles",
    ),
    "q.stock.allow_negative": ("Negatieve voorraad doorgeven", "Send negative stock"),
    "wiz.maps_intro": (
        "Vertel hoe waarden uit het ene pakket heten in het andere.",
        "Tell us how values in one package are called in the other.",
    ),
    "wiz.dry_intro": (
        "Een proefrun leest en vertaalt, maar schrijft niets. Zo zie je wat er zou gebeuren.",
        "A dry run reads and maps but writes nothing, so you see what would happen.",
    ),
    "wiz.dry_start": ("Proefrun starten", "Start a dry run"),
    "wiz.would_write": ("Dit zou worden geschreven", "This would be written"),
    "wiz.live_intro": (
        "Zet de koppelingen aan die vanaf nu automatisch moeten lopen.",
        "Switch on the flows that should run on their own from now on.",
    ),
    "wiz.switch_on": ("Aanzetten", "Switch on"),
    "wiz.done": ("Klaar! De koppelingen staan aan.", "Done! The flows are switched on."),
    "wiz.refreshing": (
        "Bezig… deze pagina ververst vanzelf.",
        "Running… this page refreshes itself.",
    ),
}


def pick_language(request: Request) -> str:
    chosen = request.cookies.get("koppel_lang")
    if chosen in LANGS:
        return chosen
    header = request.headers.get("accept-language", "")
    ranked: list[tuple[float, str]] = []
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGS:
            ranked.append((q, primary))
    if ranked:
        return max(ranked, key=lambda item: item[0])[1]
    return DEFAULT


class Translate:
    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGS else DEFAULT
        self.index = LANGS.index(self.lang)

    def __call__(self, key: str) -> str:
        pair = TEXTS.get(key)
        if pair is None:
            return key
        return pair[self.index] or pair[1 - self.index]
