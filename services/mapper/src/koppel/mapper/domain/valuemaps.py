"""Value maps: the tenant's translation tables between the two administrations.

A value map is ``{"entries": {source value: target value}, "default": target value}``.
Keys match exactly first, then case-insensitively (GUIDs and codes arrive in either case).
A map the tenant never filled is "not configured": optional fields are then left out. A map
that is configured but lacks the value fails the record permanently (``UnmappedValue``),
with a sentence naming the record, the value and the map.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from koppel.mapper.domain.errors import UnmappedValue

Scalar = str | int | float


def rate_key(rate: float | int | str | None) -> str:
    """21.0 → "21", 5.5 → "5.5"; a fraction (0.21, as some eAccounting rows carry) → "21"."""
    if rate is None or rate == "":
        return "0"
    value = float(rate)
    if 0 < value < 1:
        value = value * 100
    value = round(value, 2)
    return str(int(value)) if value == int(value) else f"{value:g}"


def _vat_phrase(key: str) -> str:
    country, _, rate = key.partition(":")
    return f"country {country} at {rate}%" if rate else f"country {country}"


@dataclass(frozen=True)
class MapInfo:
    """What a map translates into, and how to name a key in a sentence."""

    target: str
    phrase: Callable[[str], str]
    key_help: str
    value_max_length: int | None = None


VALUE_MAPS: dict[str, MapInfo] = {
    "vat_codes": MapInfo(
        "AccountView VAT code",
        _vat_phrase,
        "'CC:rate' (e.g. 'BE:21') or 'CC' for a debtor's default",
        2,
    ),
    "terms_of_payment": MapInfo(
        "AccountView payment condition",
        lambda k: f"terms of payment '{k}'",
        "eAccounting TermsOfPaymentId or name",
        2,
    ),
    "payment_methods": MapInfo(
        "AccountView payment method",
        lambda k: f"payment method '{k}'",
        "eAccounting payment method",
    ),
    "shipping_methods": MapInfo(
        "AccountView shipping method",
        lambda k: f"delivery method '{k}'",
        "eAccounting delivery method name or code",
        10,
    ),
    "shipping_article": MapInfo(
        "shipping-cost article",
        lambda k: f"delivery method '{k}'",
        "delivery method (or only a default)",
    ),
    "revenue_accounts": MapInfo(
        "AccountView revenue account", lambda k: f"country {k}", "ISO country code", 10
    ),
    "discount_article": MapInfo("discount article", lambda k: f"'{k}'", "only a default"),
    "default_debtor": MapInfo("default debtor", lambda k: f"'{k}'", "only a default", 10),
    "sku_map": MapInfo("AccountView article code", lambda k: f"SKU '{k}'", "source SKU"),
    "article_codings": MapInfo(
        "eAccounting article account coding",
        lambda k: f"AccountView VAT code '{k}'",
        "AccountView VAT code",
    ),
    "vat_rates": MapInfo(
        "VAT percentage", lambda k: f"AccountView VAT code '{k}'", "AccountView VAT code"
    ),
    "units": MapInfo(
        "eAccounting unit", lambda k: f"AccountView unit '{k}'", "AccountView unit code"
    ),
}


@dataclass(frozen=True)
class ValueMap:
    entries: Mapping[str, Scalar] = field(default_factory=dict)
    default: Scalar | None = None
    _folded: Mapping[str, Scalar] = field(default_factory=dict, repr=False, compare=False)
    # True when some key has no ':' (vat_codes: a country's default, used for debtors).
    has_plain_keys: bool = field(default=False, repr=False, compare=False)

    @classmethod
    def from_document(cls, document: Mapping[str, Any] | None) -> ValueMap:
        document = document or {}
        entries = {str(k).strip(): v for k, v in dict(document.get("entries") or {}).items()}
        folded = {k.casefold(): v for k, v in entries.items()}
        plain = any(":" not in key for key in entries)
        return cls(
            entries=entries, default=document.get("default"), _folded=folded, has_plain_keys=plain
        )

    @property
    def configured(self) -> bool:
        return bool(self.entries) or self.default not in (None, "")

    def get(self, key: str) -> Scalar | None:
        hit = self.entries.get(key)
        if hit is None:
            hit = self._folded.get(key.strip().casefold())
        return hit


class ValueMaps:
    """The tenant's value maps, read-only, built once per configuration version."""

    def __init__(self, maps: Mapping[str, ValueMap] | None = None) -> None:
        self._maps: dict[str, ValueMap] = dict(maps or {})

    @classmethod
    def from_documents(cls, documents: Mapping[str, Mapping[str, Any]]) -> ValueMaps:
        return cls({name: ValueMap.from_document(doc) for name, doc in documents.items()})

    def map(self, name: str) -> ValueMap:
        return self._maps.get(name) or ValueMap()

    def configured(self, name: str) -> bool:
        return self.map(name).configured

    def names(self) -> list[str]:
        return sorted(self._maps)

    def lookup(
        self, name: str, key: str | None, *, record: str, fallbacks: tuple[str, ...] = ()
    ) -> Scalar:
        """The mapped value for ``key`` (then each fallback key, then the default), or
        ``UnmappedValue`` naming the record, the value and the map."""
        value_map = self.map(name)
        for candidate in (key, *fallbacks):
            if candidate:
                hit = value_map.get(candidate)
                if hit is not None and hit != "":
                    return hit
        if value_map.default is not None and value_map.default != "":
            return value_map.default
        raise UnmappedValue(
            unmapped_message(name, key, record), map_name=name, value=key or "", record=record
        )

    def lookup_optional(
        self, name: str, key: str | None, *, record: str, fallbacks: tuple[str, ...] = ()
    ) -> Scalar | None:
        """Like ``lookup``, but a map the tenant never configured yields ``None``."""
        if not self.configured(name):
            return None
        if not key and not any(fallbacks):
            # Nothing to translate (the source left the field empty): the default, if any.
            default = self.map(name).default
            return default if default not in (None, "") else None
        return self.lookup(name, key, record=record, fallbacks=fallbacks)

    def translate(self, name: str, key: str) -> str:
        """For rename maps (``sku_map``): the mapped value, or the key itself."""
        hit = self.map(name).get(key) if key else None
        return str(hit) if hit not in (None, "") else key


def unmapped_message(name: str, key: str | None, record: str) -> str:
    info = VALUE_MAPS.get(name)
    target = info.target if info else "value"
    if not key:
        return f"{record}: no {target} is set — add a default to value map '{name}'"
    phrase = info.phrase(key) if info else f"'{key}'"
    return f"{record}: no {target} is mapped for {phrase} — add it to value map '{name}'"
