"""Article stock: kept as technical, reserved and on-order quantities; free stock is derived.

Open sales-order lines (SO1) raise the reserved quantity (notes section 7, inferred). The
reserved quantity lives in the hidden ``_RESERVED`` entry of the article record.
"""

from __future__ import annotations

from datetime import datetime

from koppel.sandbox.accountview.schema import Field
from koppel.sandbox.accountview.settings import Knobs
from koppel.sandbox.accountview.store import Record, stamp_update

RESERVED = "_RESERVED"


def _num(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def quantities(article: Record) -> tuple[float, float, float]:
    """(technical, reserved, on order)."""
    return (
        _num(article.get("QTY_TECH")),
        _num(article.get(RESERVED)),
        _num(article.get("QTY_BESTEL")),
    )


def article_view(article: Record, knobs: Knobs) -> Record:
    """The article as served: derived stock fields filled in per the knobs."""
    tech, reserved, on_order = quantities(article)
    free = tech - reserved
    view = dict(article)
    view["QTY_FREE2"] = free
    view["QTY_AVAIL"] = {"tech": tech, "free": free, "economic": free + on_order}[
        knobs.qty_avail_mode
    ]
    if knobs.reserved_field:
        view[knobs.reserved_field.upper()] = reserved
    return view


def reserved_field_def(knobs: Knobs) -> Field | None:
    if not knobs.reserved_field:
        return None
    return Field(knobs.reserved_field.upper(), "N", 12, 2, readonly=True)


def move(
    article: Record,
    knobs: Knobs,
    now: datetime,
    *,
    tech: float = 0.0,
    reserved: float = 0.0,
    on_order: float = 0.0,
    user: str = "SANDBOX",
) -> None:
    """Apply stock deltas; bump CNG_DATE only when the knob says stock changes do."""
    t, r, o = quantities(article)
    article["QTY_TECH"] = t + tech
    article[RESERVED] = r + reserved
    article["QTY_BESTEL"] = o + on_order
    if knobs.stock_change_bumps_cng_date and (tech or reserved or on_order):
        stamp_update(article, now, user)
