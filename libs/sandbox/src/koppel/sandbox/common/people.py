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
    """A VAT number that passes its country's checksum, as real customers' numbers do
    (the random digits are drawn first, so the seed's stream does not depend on them)."""
    digits = "".join(str(rng.randint(0, 9)) for _ in range(9))
    extra = rng.randint(0, 9) if country == "SE" else 0
    if country == "NL":
        return f"NL{_elfproef(digits[:8])}B01"
    if country == "BE":
        base = "0" + digits[:7]
        return f"BE{base}{97 - int(base) % 97:02d}"
    if country == "SE":
        return f"SE{_luhn(digits[:8] + str(extra))}01"
    if country == "NO":
        return f"NO{_mod11_no(digits[:8])}MVA"
    return f"DE{_mod11_10(digits[:8])}"


def _elfproef(first8: str) -> str:
    """Dutch BSN-style check: sum of weights 9..2 minus the last digit is 0 mod 11."""
    for bump in range(10):
        body = str((int(first8[0]) + bump) % 10) + first8[1:]
        total = sum((9 - i) * int(d) for i, d in enumerate(body)) % 11
        if total < 10 and int(body) > 0:
            return body + str(total)
    raise AssertionError("unreachable: some leading digit always gives a check digit")


def _luhn(first9: str) -> str:
    total = 0
    for i, d in enumerate(reversed(first9)):
        n = int(d) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return first9 + str((10 - total % 10) % 10)


def _mod11_no(first8: str) -> str:
    """Norwegian organisation number: weights 3,2,7,6,5,4,3,2; check 11 - sum mod 11."""
    for bump in range(10):
        body = str((int(first8[0]) + bump) % 10) + first8[1:]
        remainder = (
            sum(w * int(d) for w, d in zip((3, 2, 7, 6, 5, 4, 3, 2), body, strict=True)) % 11
        )
        check = (11 - remainder) % 11
        if check < 10:
            return body + str(check)
    raise AssertionError("unreachable")


def _mod11_10(first8: str) -> str:
    """German USt-IdNr: ISO 7064 MOD 11,10; never starts with 0."""
    first8 = str(int(first8[0]) or 1) + first8[1:]
    product = 10
    for d in first8:
        total = (int(d) + product) % 10 or 10
        product = (2 * total) % 11
    return first8 + str((11 - product) % 10)
