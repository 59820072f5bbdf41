"""Country names ↔ ISO 3166-1 alpha-2 codes, for the countries a Dutch business trades with.

Both eAccounting (``InvoiceCountryCode``) and AccountView (``CNT_CODE`` C2, ``COUNTRY`` C30)
speak ISO codes; names turn up in webshop data and in AccountView's ``COUNTRY`` column.
The table holds English and Dutch names; lookups ignore case, accents are kept as written.
"""

from __future__ import annotations

# code: (English name, Dutch name, other spellings...)
_COUNTRIES: dict[str, tuple[str, ...]] = {
    "NL": ("Netherlands", "Nederland", "The Netherlands", "Holland"),
    "BE": ("Belgium", "België", "Belgie", "Belgique"),
    "LU": ("Luxembourg", "Luxemburg"),
    "DE": ("Germany", "Duitsland", "Deutschland"),
    "FR": ("France", "Frankrijk"),
    "GB": ("United Kingdom", "Verenigd Koninkrijk", "UK", "Great Britain", "England"),
    "IE": ("Ireland", "Ierland"),
    "ES": ("Spain", "Spanje", "España"),
    "PT": ("Portugal",),
    "IT": ("Italy", "Italië", "Italie", "Italia"),
    "AT": ("Austria", "Oostenrijk", "Österreich"),
    "CH": ("Switzerland", "Zwitserland", "Schweiz", "Suisse"),
    "LI": ("Liechtenstein",),
    "DK": ("Denmark", "Denemarken", "Danmark"),
    "SE": ("Sweden", "Zweden", "Sverige"),
    "NO": ("Norway", "Noorwegen", "Norge"),
    "FI": ("Finland", "Suomi"),
    "IS": ("Iceland", "IJsland"),
    "PL": ("Poland", "Polen", "Polska"),
    "CZ": ("Czechia", "Tsjechië", "Czech Republic", "Tsjechie"),
    "SK": ("Slovakia", "Slowakije"),
    "HU": ("Hungary", "Hongarije"),
    "SI": ("Slovenia", "Slovenië"),
    "HR": ("Croatia", "Kroatië"),
    "RO": ("Romania", "Roemenië"),
    "BG": ("Bulgaria", "Bulgarije"),
    "GR": ("Greece", "Griekenland"),
    "CY": ("Cyprus",),
    "MT": ("Malta",),
    "EE": ("Estonia", "Estland"),
    "LV": ("Latvia", "Letland"),
    "LT": ("Lithuania", "Litouwen"),
    "TR": ("Turkey", "Turkije", "Türkiye"),
    "UA": ("Ukraine", "Oekraïne"),
    "RS": ("Serbia", "Servië"),
    "US": ("United States", "Verenigde Staten", "USA", "United States of America"),
    "CA": ("Canada",),
    "MX": ("Mexico",),
    "BR": ("Brazil", "Brazilië"),
    "AR": ("Argentina", "Argentinië"),
    "AU": ("Australia", "Australië"),
    "NZ": ("New Zealand", "Nieuw-Zeeland"),
    "JP": ("Japan",),
    "CN": ("China",),
    "HK": ("Hong Kong",),
    "TW": ("Taiwan",),
    "KR": ("South Korea", "Zuid-Korea", "Korea"),
    "IN": ("India",),
    "SG": ("Singapore",),
    "ID": ("Indonesia", "Indonesië"),
    "TH": ("Thailand",),
    "VN": ("Vietnam",),
    "MY": ("Malaysia", "Maleisië"),
    "PH": ("Philippines", "Filipijnen"),
    "IL": ("Israel", "Israël"),
    "AE": ("United Arab Emirates", "Verenigde Arabische Emiraten", "UAE"),
    "SA": ("Saudi Arabia", "Saoedi-Arabië"),
    "ZA": ("South Africa", "Zuid-Afrika"),
    "MA": ("Morocco", "Marokko"),
    "EG": ("Egypt", "Egypte"),
    "SR": ("Suriname",),
    "CW": ("Curaçao", "Curacao"),
    "AW": ("Aruba",),
    "SX": ("Sint Maarten",),
    "BQ": ("Caribbean Netherlands", "Caribisch Nederland", "Bonaire"),
}

EU_MEMBERS = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
)

_BY_NAME: dict[str, str] = {
    name.casefold(): code for code, names in _COUNTRIES.items() for name in names
}


def country_code(value: str | None) -> str | None:
    """``"Belgium"``/``"België"``/``"be"`` → ``"BE"``; unknown → ``None``."""
    if not value:
        return None
    text = value.strip()
    if len(text) == 2 and text.upper() in _COUNTRIES:
        return text.upper()
    return _BY_NAME.get(text.casefold())


def country_name(code: str | None, language: str = "en") -> str | None:
    """``"BE"`` → ``"Belgium"`` (``language="nl"``: ``"België"``); unknown → ``None``."""
    if not code:
        return None
    names = _COUNTRIES.get(code.strip().upper())
    if names is None:
        return None
    return names[1] if language == "nl" and len(names) > 1 else names[0]


def is_known_code(code: str) -> bool:
    return code.upper() in _COUNTRIES
