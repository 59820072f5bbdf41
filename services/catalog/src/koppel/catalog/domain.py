"""Catalog's pure rules: which articles sync, what an upsert may write, and the content hash.

No I/O here; ``runs``, ``upsert`` and ``stock`` call these.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from koppel.catalog.tenant_settings import BLOCKED_FIELD, FilterRule, ProductsConfig

JSON = dict[str, Any]

# Fields eAccounting computes or keeps itself: never part of what we write or compare.
READ_ONLY = frozenset(
    {
        "Id",
        "CodingName",
        "UnitName",
        "UnitAbbreviation",
        "StockBalanceReserved",
        "StockBalanceAvailable",
        "StockBalanceManuallyChangedUtc",
        "StockValue",
        "ShowStockInformation",
        "IsServiceArticle",
        "CreatedUtc",
        "ChangedUtc",
        "NetPriceWithDiscount",
        "PurchasePriceManuallyChangedUtc",
    }
)
# The stock flow owns the balance; a product upsert never writes it (with the stock module on
# eAccounting would refuse the whole article for it).
STOCK_OWNED = frozenset({"StockBalance"})
# Names tenants use for eAccounting fields in ``create_only_fields``.
FIELD_ALIASES = {"Description": "Note", "Ean": "Barcodes", "EAN": "Barcodes", "Price": "NetPrice"}


# --- filters --------------------------------------------------------------------------------


def _comparable(left: Any, right: Any) -> tuple[Any, Any]:
    """Compare an article value with a filter value of the type the filter was written in."""
    if isinstance(right, bool):
        if isinstance(left, str):
            return left.strip().lower() in ("1", "true", "t", "y", "yes", ".t."), right
        return bool(left), right
    if isinstance(right, int | float):
        try:
            return float(left), float(right)
        except (TypeError, ValueError):
            return str(left), str(right)
    if left is None:
        return "", "" if right is None else str(right)
    return str(left).strip(), "" if right is None else str(right).strip()


def _holds(rule: FilterRule, article: JSON) -> bool:
    value = article.get(rule.field)
    op = rule.operator
    if op in ("in", "not_in"):
        options = rule.value if isinstance(rule.value, list) else [rule.value]
        hit = any(_comparable(value, o)[0] == _comparable(value, o)[1] for o in options)
        return hit if op == "in" else not hit
    left, right = _comparable(value, rule.value)
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if op == "contains":
        return str(right).lower() in str(left).lower()
    if op == "starts_with":
        return str(left).lower().startswith(str(right).lower())
    try:
        if op == ">":
            return bool(left > right)
        if op == ">=":
            return bool(left >= right)
        if op == "<":
            return bool(left < right)
        if op == "<=":
            return bool(left <= right)
    except TypeError:
        return False
    raise ValueError(f"unknown filter operator {op!r}")


@dataclass(frozen=True)
class Verdict:
    keep: bool
    filter_name: str = ""
    reason: str = ""


def evaluate_filters(article: JSON, config: ProductsConfig) -> Verdict:
    """Whether the tenant's filters let ``article`` sync; if not, which filter left it out."""
    if not config.filters:
        return Verdict(True)
    results = [(rule, _holds(rule, article)) for rule in config.filters]
    if config.filter_mode == "any":
        if any(ok for _, ok in results):
            return Verdict(True)
        names = "; ".join(rule.name for rule, _ in results)
        return Verdict(False, "any of: " + names, "None of the product filters holds.")
    for rule, ok in results:
        if not ok:
            shown = article.get(rule.field)
            return Verdict(
                False,
                rule.name,
                f"Filter '{rule.name}' does not hold: {rule.field} is {shown!r}.",
            )
    return Verdict(True)


def is_blocked(article: JSON) -> bool:
    value = article.get(BLOCKED_FIELD)
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "t", ".t.")
    return bool(value)


# --- what an upsert writes --------------------------------------------------------------------


def desired_article(target: JSON, *, manage_stock: bool) -> JSON:
    """The mapped article as we want it in eAccounting (without what others own)."""
    body = {k: v for k, v in target.items() if k not in READ_ONLY and k not in STOCK_OWNED}
    body["IsStock"] = manage_stock
    return body


def protected_fields(config: ProductsConfig) -> set[str]:
    """Fields an update must leave as they are in eAccounting. ``Number`` is the identity and
    is never rewritten (an article found by EAN keeps its own number)."""
    protected = {"Number"}
    if not config.update_product_information:
        protected |= {FIELD_ALIASES.get(f, f) for f in config.create_only_fields}
    return protected


def update_payload(desired: JSON, config: ProductsConfig) -> JSON:
    protected = protected_fields(config)
    return {k: v for k, v in desired.items() if k not in protected}


def content_hash(payload: JSON) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def merged_for_put(current: JSON, payload: JSON) -> JSON:
    """The full-replace PUT body: the article as eAccounting has it, with ``payload`` over it.

    A new net price without a gross price drops the stored gross price (and vice versa), so
    eAccounting derives it from the coding's VAT rate instead of refusing a mismatch.
    """
    body = {**current, **payload}
    if "NetPrice" in payload and "GrossPrice" not in payload:
        body.pop("GrossPrice", None)
    if "GrossPrice" in payload and "NetPrice" not in payload:
        body.pop("NetPrice", None)
    return body


def differs(current: JSON, payload: JSON) -> bool:
    """Whether writing ``payload`` would change anything eAccounting shows."""
    for key, value in payload.items():
        have = current.get(key)
        if isinstance(value, float | int) and isinstance(have, float | int):
            if abs(float(value) - float(have)) > 1e-9:
                return True
        elif key == "Barcodes":
            if _barcodes(value) != _barcodes(have):
                return True
        elif value != have:
            return True
    return False


def _barcodes(value: Any) -> list[str]:
    return sorted(str(b.get("Barcode")) for b in value or [] if b.get("Barcode"))


def ean_of(target: JSON) -> str | None:
    codes = _barcodes(target.get("Barcodes"))
    return codes[0] if codes else None


# --- the incremental cursor ---------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """``CNG_DATE`` watermark (AccountView's own clock, no zone) and the articles seen at it.

    ``CNG_DATE`` has whole seconds, so an article changed twice within one second looks the
    same twice; the change counter ``CNG_NR`` tells the second change apart. Entries are
    ``"<code>#<CNG_NR>"``.
    """

    at: datetime | None = None
    codes: frozenset[str] = frozenset()

    def dump(self) -> str:
        at = self.at.isoformat() if self.at else None
        return json.dumps({"at": at, "codes": sorted(self.codes)})

    @classmethod
    def load(cls, value: str | None) -> Cursor:
        if not value:
            return cls()
        data = json.loads(value)
        at = datetime.fromisoformat(data["at"]) if data.get("at") else None
        return cls(at, frozenset(data.get("codes") or ()))

    @staticmethod
    def entry(code: str, change_nr: Any) -> str:
        return f"{code}#{change_nr if change_nr is not None else ''}"

    def seen(self, stamp: datetime | None, entry: str) -> bool:
        """Already handed out by an earlier run (same change instant, same change)."""
        return stamp is not None and stamp == self.at and entry in self.codes

    def advance(self, stamp: datetime | None, entry: str) -> Cursor:
        if stamp is None or (self.at is not None and stamp < self.at):
            return self
        if self.at == stamp:
            return Cursor(stamp, self.codes | {entry})
        return Cursor(stamp, frozenset({entry}))


def parse_stamp(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value)).replace(tzinfo=None)
    except ValueError:
        return None
