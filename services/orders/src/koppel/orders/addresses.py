"""Delivery addresses (AccountView ``DEL_ADDR``): matched on the address itself, so a
returning customer's fifth order to the same door reuses the first order's row instead of
adding one per order. Pure rules, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_SPACES = re.compile(r"\s+")
_NL_POSTCODE = re.compile(r"^(\d{4})\s*([A-Za-z]{2})$")


def normalise_text(value: object) -> str:
    return _SPACES.sub(" ", str(value or "")).strip().lower()


def normalise_postcode(value: object, country: str = "") -> str:
    """Dutch postcodes become ``1234 AB`` (AccountView's form); others are trimmed and
    upper-cased, inner spaces kept single."""
    text = _SPACES.sub(" ", str(value or "")).strip().upper()
    if country.upper() in ("", "NL"):
        match = _NL_POSTCODE.match(text)
        if match:
            return f"{match.group(1)} {match.group(2)}"
    return text


@dataclass(frozen=True)
class DeliveryAddress:
    name: str
    address1: str
    postcode: str
    city: str
    country: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> DeliveryAddress:
        """From a ``DEL_ADDR`` row or the mapper's ``delivery`` block (same field names)."""
        country = str(row.get("CNT_CODE") or "").strip().upper()
        return cls(
            name=str(row.get("DEL_NAME") or "").strip(),
            address1=str(row.get("ADDRESS1") or "").strip(),
            postcode=normalise_postcode(row.get("POST_CODE"), country),
            city=str(row.get("CITY") or "").strip(),
            country=country,
        )

    def match_key(self) -> tuple[str, str, str, str]:
        """The name is left out on purpose: the same door under a slightly different
        spelling of the recipient is still the same delivery address."""
        return (
            normalise_text(self.address1),
            self.postcode.replace(" ", ""),
            normalise_text(self.city),
            self.country,
        )

    def is_empty(self) -> bool:
        return not (self.address1 or self.postcode or self.city)

    def to_row(self, debtor_number: str) -> dict[str, str]:
        return {
            "SUB_NR": debtor_number,
            "DEL_NAME": self.name[:40],
            "ADDRESS1": self.address1[:80],
            "POST_CODE": self.postcode[:10],
            "CITY": self.city[:35],
            "CNT_CODE": self.country[:2],
        }


def find_address(existing: Iterable[Mapping[str, Any]], wanted: DeliveryAddress) -> str | None:
    """The ``REC_ID`` of an existing row at the same address, if any."""
    key = wanted.match_key()
    for row in existing:
        if DeliveryAddress.from_row(row).match_key() == key:
            rec_id = row.get("REC_ID")
            return None if rec_id in (None, "") else str(rec_id)
    return None
