"""Address hygiene: split a street line into street, house number and addition, and
normalise postcodes, the way AccountView's CONTACT wants them (ST_STREET C60, ST_NR C10,
ST_EXTRA C10, POST_CODE C10 uppercase; Dutch postcodes as ``1234 AB``)."""

from __future__ import annotations

import re
from typing import NamedTuple


class StreetParts(NamedTuple):
    street: str
    number: str
    addition: str


_NUMBER_TOKEN = re.compile(r"^(\d+)(.*)$")
# What may follow a house number: "a", "A", "bis", "hs", "III", "2", "-2", "/3", "zw".
_ADDITION_TOKEN = re.compile(r"^[-/]?[0-9A-Za-z.]{1,4}$|^[-/]$")
_HOUSE_NUMBER_TOKEN = re.compile(r"^\d{1,6}[A-Za-z]{0,3}(?:[-/][0-9A-Za-z]{1,3})?$")
_SPACES = re.compile(r"\s+")


def _clean_addition(text: str) -> str:
    return text.strip().lstrip("-/").strip()


def split_street(line: str | None) -> StreetParts:
    """``"Dorpsstraat 12a-2"`` → ``("Dorpsstraat", "12", "a-2")``.

    The house number is the right-most token that starts with a digit and is followed only
    by short addition tokens, so street names that contain numbers ("Plein 1940-1945 12",
    "1e Jan Steenstraat 5") keep them. A line that starts with a number and has none at
    the end ("12 Main Street") is read the English/French way. No number: all is street.
    """
    if not line:
        return StreetParts("", "", "")
    tokens = _SPACES.sub(" ", line.strip()).split(" ")
    tokens = [t.rstrip(",") for t in tokens if t.rstrip(",")]
    # Walk left over the trailing run of number/addition tokens; the left-most number in
    # that run is the house number ("Kerkstraat 5 - 7" → 5, addition "7").
    chosen: int | None = None
    for i in range(len(tokens) - 1, 0, -1):
        token = tokens[i]
        number = _HOUSE_NUMBER_TOKEN.match(token)
        if number is not None:
            chosen = i
        elif not _ADDITION_TOKEN.match(token):
            break
    if chosen is not None:
        match = _NUMBER_TOKEN.match(tokens[chosen])
        assert match is not None
        rest = [match.group(2), *tokens[chosen + 1 :]]
        addition = _clean_addition(" ".join(r for r in rest if r))
        return StreetParts(" ".join(tokens[:chosen]), match.group(1), addition)
    first = _NUMBER_TOKEN.match(tokens[0]) if tokens else None
    if first is not None and len(tokens) > 1:
        return StreetParts(" ".join(tokens[1:]), first.group(1), _clean_addition(first.group(2)))
    return StreetParts(" ".join(tokens), "", "")


_NL_POSTCODE = re.compile(r"^([1-9][0-9]{3})\s*([A-Za-z]{2})$")


def normalise_postcode(postcode: str | None, country: str | None = "NL") -> str:
    """Dutch postcodes become ``1234 AB``; others are trimmed, uppercased, single-spaced."""
    if not postcode:
        return ""
    text = _SPACES.sub(" ", postcode.strip()).upper()
    if (country or "NL").upper() == "NL":
        match = _NL_POSTCODE.match(text)
        if match is not None:
            return f"{match.group(1)} {match.group(2).upper()}"
    return text


def normalise_email(email: str | None) -> str:
    """Trim and lowercase: AccountView's filter is case-sensitive, so both sides must agree."""
    return (email or "").strip().lower()
