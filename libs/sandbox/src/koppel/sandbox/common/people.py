"""Seeded Dutch, Belgian, German, Swedish and Norwegian persons and companies with addresses."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

COUNTRY_NAMES = {
    "NL": ("Nederland", "Netherlands"),
    "BE": ("België", "Belgium"),
    "DE": ("Deutschland", "Germany"),
    "SE": ("Sverige", "Sweden"),
    "NO": ("Norge", "Norway"),
}

_FIRST = {
    "NL": ["Jan", "Sanne", "Pieter", "Femke", "Daan", "Lotte", "Bram", "Anouk", "Joost", "Eva"],
    "BE": ["Wout", "Lien", "Arne", "Elise", "Jens", "Marie", "Pieter-Jan", "Louise"],
    "DE": ["Lukas", "Anna", "Jonas", "Lena", "Felix", "Sophie", "Maximilian", "Jürgen"],
    "SE": ["Erik", "Astrid", "Lars", "Ingrid", "Nils", "Maja", "Björn", "Saga"],
    "NO": ["Ole", "Ingeborg", "Magnus", "Sigrid", "Henrik", "Nora", "Øyvind", "Kari"],
}
_LAST = {
    "NL": ["de Vries", "Jansen", "van den Berg", "Bakker", "Visser", "Smit", "de Jong", "Mulder"],
    "BE": ["Peeters", "Janssens", "Maes", "Jacobs", "Willems", "Claes", "Goossens"],
    "DE": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner"],
    "SE": ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Lindqvist", "Åberg"],
    "NO": ["Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Berg", "Haugen", "Dahl"],
}
_STREETS = {
    "NL": ["Kerkstraat", "Dorpsstraat", "Stationsweg", "Molenweg", "Prinsengracht", "Schoolstraat"],
    "BE": ["Kerkstraat", "Stationsstraat", "Rue de la Loi", "Meir", "Veldstraat"],
    "DE": ["Hauptstraße", "Bahnhofstraße", "Schulstraße", "Gartenstraße", "Lindenweg"],
    "SE": ["Storgatan", "Drottninggatan", "Kungsgatan", "Skolgatan", "Sveavägen"],
    "NO": ["Storgata", "Kirkegata", "Karl Johans gate", "Parkveien", "Skolegata"],
}
_CITIES = {
    "NL": [
        ("Amsterdam", "1012"),
        ("Utrecht", "3511"),
        ("Rotterdam", "3011"),
        ("Zwolle", "8011"),
        ("Groningen", "9711"),
        ("Eindhoven", "5611"),
    ],
    "BE": [("Antwerpen", "2000"), ("Gent", "9000"), ("Brussel", "1000"), ("Leuven", "3000")],
    "DE": [("Berlin", "10115"), ("Hamburg", "20095"), ("Köln", "50667"), ("München", "80331")],
    "SE": [
        ("Stockholm", "111 20"),
        ("Göteborg", "411 01"),
        ("Malmö", "211 20"),
        ("Uppsala", "753 20"),
    ],
    "NO": [("Oslo", "0150"), ("Bergen", "5003"), ("Trondheim", "7011"), ("Stavanger", "4006")],
}
_COMPANY_WORDS = ["Noord", "Polder", "Fjord", "Linde", "Berg", "Zee", "Havn", "Eik", "Duin"]
_COMPANY_KINDS = ["Handel", "Design", "Trading", "Interiors", "Outdoor", "Living", "Supply"]
_LEGAL_FORM = {"NL": "B.V.", "BE": "BV", "DE": "GmbH", "SE": "AB", "NO": "AS"}
_PHONE_PREFIX = {"NL": "+31 6", "BE": "+32 4", "DE": "+49 15", "SE": "+46 70", "NO": "+47 9"}
_MAIL_DOMAINS = ["example.com", "example.net", "example.org"]


@dataclass(frozen=True)
class Party:
    """A customer-to-be: a company (with a contact person) or a private person."""

    country_code: str
    first_name: str
    last_name: str
    company_name: str | None
    email: str
    phone: str
    address1: str
    postal_code: str
    city: str
    vat_number: str | None
    language: str

    @property
    def is_company(self) -> bool:
        return self.company_name is not None

    @property
    def person_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def display_name(self) -> str:
        return self.company_name or self.person_name


def ascii_slug(text: str) -> str:
    """'Jürgen Åberg' -> 'jurgen.aberg' (for e-mail local parts)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    plain = plain.replace("ø", "o")
    return ".".join("".join(ch for ch in word if ch.isalnum()) for word in plain.split())


def make_party(rng: random.Random, *, country: str, company: bool, index: int) -> Party:
    """One person or company in ``country``; ``index`` keeps e-mail addresses unique."""
    first = rng.choice(_FIRST[country])
    last = rng.choice(_LAST[country])
    street = rng.choice(_STREETS[country])
    city, postal_prefix = rng.choice(_CITIES[country])
    postal = _postal_code(rng, country, postal_prefix)
    company_name: str | None = None
    vat: str | None = None
    if company:
        company_name = (
            f"{rng.choice(_COMPANY_WORDS)} {rng.choice(_COMPANY_KINDS)} {_LEGAL_FORM[country]}"
        )
        vat = _vat_number(rng, country)
        domain = ascii_slug(company_name.split()[0] + company_name.split()[1]) + ".example"
        email = f"{ascii_slug(first)}.{index}@{domain}"
    else:
        email = f"{ascii_slug(first + ' ' + last)}.{index}@{rng.choice(_MAIL_DOMAINS)}"
    phone = f"{_PHONE_PREFIX[country]}{rng.randint(1000000, 9999999)}"
    return Party(
        country_code=country,
        first_name=first,
        last_name=last,
        company_name=company_name,
        email=email,
        phone=phone,
        address1=f"{street} {rng.randint(1, 240)}",
        postal_code=postal,
        city=city,
        vat_number=vat,
        language={"NL": "nl", "BE": "nl", "DE": "de", "SE": "sv", "NO": "no"}[country],
    )


def _postal_code(rng: random.Random, country: str, prefix: str) -> str:
    if country == "NL":
        return f"{prefix} {rng.choice('ABCEGHJKLMNPRSTVWXZ')}{rng.choice('ABCEGHJKLMNPRSTVWXZ')}"
    if country == "SE":
        return f"{prefix[:-2]}{rng.randint(10, 99)}"
    return prefix


def _vat_number(rng: random.Random, country: str) -> str:
    digits = "".join(str(rng.randint(0, 9)) for _ in range(9))
    if country == "NL":
        return f"NL{digits}B01"
    if country == "BE":
        return f"BE0{digits}"
    if country == "SE":
        return f"SE{digits}{rng.randint(0, 9)}01"
    if country == "NO":
        return f"NO{digits}MVA"
    return f"DE{digits}"
