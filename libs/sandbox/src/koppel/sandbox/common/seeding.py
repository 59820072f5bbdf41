"""Seeded-random helpers shared by the sandboxes, and the shared article catalogue.

Determinism: every generator takes a ``random.Random`` made by :func:`substream`, which derives
an independent stream from ``(seed, name)``. Adding a new stream never shifts the values of
another, so "orders" stay the same when someone adds "quotes".

SKU scheme (shared by the eAccounting and AccountView sandboxes so their seeds line up):

- ``ART-0001`` .. ``ART-nnnn``: known articles, present in both systems; item ``n`` of
  :func:`shared_catalog` is the same article (name, EAN, price, VAT class) in both.
- ``UNKNOWN-001`` .. : SKUs that exist in no catalogue; eAccounting orders use them to provoke
  "missing product" failures.
- EAN-13 of article ``n`` is ``ean_for_article(n)`` (GS1 prefix 87 = Netherlands); it depends on
  ``n`` only, never on the seed.
"""

from __future__ import annotations

import hashlib
import random
import re
import uuid
from dataclasses import dataclass

KNOWN_SKU_PATTERN = re.compile(r"^ART-\d{4,}$")
UNKNOWN_SKU_PATTERN = re.compile(r"^UNKNOWN-\d{3,}$")


def substream(seed: int, name: str) -> random.Random:
    """An independent random stream for ``name`` under ``seed``."""
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def seeded_uuid(rng: random.Random) -> uuid.UUID:
    """A version-4-shaped UUID drawn from ``rng`` (deterministic, unlike uuid.uuid4)."""
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def known_sku(n: int) -> str:
    return f"ART-{n:04d}"


def unknown_sku(n: int) -> str:
    return f"UNKNOWN-{n:03d}"


def ean13_check_digit(first12: str) -> str:
    if len(first12) != 12 or not first12.isdigit():
        raise ValueError("need exactly 12 digits")
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def ean13(first12: str) -> str:
    return first12 + ean13_check_digit(first12)


def is_valid_ean13(code: str) -> bool:
    return len(code) == 13 and code.isdigit() and ean13_check_digit(code[:12]) == code[12]


def ean_for_article(n: int) -> str:
    return ean13(f"8719991{n:05d}")


# --- shared catalogue ---------------------------------------------------------------------

_PRODUCTS = [
    ("Koffiemok", "Coffee mug"),
    ("Theeglas", "Tea glass"),
    ("Snijplank", "Cutting board"),
    ("Broodtrommel", "Bread box"),
    ("Waterfles", "Water bottle"),
    ("Kaasschaaf", "Cheese slicer"),
    ("Fietsbel", "Bicycle bell"),
    ("Regenjas", "Rain jacket"),
    ("Wollen sjaal", "Wool scarf"),
    ("Notitieboek", "Notebook"),
    ("Vulpen", "Fountain pen"),
    ("Bureaulamp", "Desk lamp"),
    ("Deurmat", "Doormat"),
    ("Plantenpot", "Plant pot"),
    ("Kandelaar", "Candle holder"),
    ("Theedoek", "Tea towel"),
    ("Ovenwant", "Oven glove"),
    ("Zaklamp", "Torch"),
    ("Rugzak", "Backpack"),
    ("Paraplu", "Umbrella"),
    ("Puzzel 1000 st", "Puzzle 1000 pcs"),
    ("Speelkaarten", "Playing cards"),
    ("Kookboek", "Cookbook"),
    ("Pepermolen", "Pepper mill"),
]
_VARIANTS = [
    ("blauw", "blue"),
    ("rood", "red"),
    ("groen", "green"),
    ("zwart", "black"),
    ("wit", "white"),
    ("grijs", "grey"),
    ("klein", "small"),
    ("groot", "large"),
    ("eiken", "oak"),
    ("RVS", "steel"),
]
# Books and food carry the low Dutch VAT rate; everything else the standard rate.
_LOW_VAT = {"Kookboek", "Notitieboek"}


@dataclass(frozen=True)
class CatalogItem:
    n: int
    sku: str
    ean: str
    name: str  # Dutch, at most 50 characters
    name_en: str
    unit: str  # "pcs" (piece) or "set"
    net_price: float  # sales price excl. VAT, 2 decimals
    purchase_price: float
    vat_class: str  # "high" (NL 21 %) or "low" (NL 9 %)
    vat_rate: float  # percent for the Netherlands
    is_stock: bool
    stock_quantity: float
    active: bool


def catalog_item(seed: int, n: int) -> CatalogItem:
    """Article ``n`` (1-based) of the shared catalogue; depends only on ``(seed, n)``."""
    if n < 1:
        raise ValueError("articles are numbered from 1")
    rng = substream(seed, f"catalog:{n}")
    product, product_en = rng.choice(_PRODUCTS)
    variant, variant_en = rng.choice(_VARIANTS)
    low = product in _LOW_VAT
    price = round(rng.uniform(2.5, 180.0), 2)
    is_stock = rng.random() < 0.85
    return CatalogItem(
        n=n,
        sku=known_sku(n),
        ean=ean_for_article(n),
        name=f"{product} {variant}"[:50],
        name_en=f"{product_en} {variant_en}"[:50],
        unit="set" if product.startswith(("Puzzel", "Speelkaarten")) else "pcs",
        net_price=price,
        purchase_price=round(price * rng.uniform(0.35, 0.65), 2),
        vat_class="low" if low else "high",
        vat_rate=9.0 if low else 21.0,
        is_stock=is_stock,
        stock_quantity=float(rng.randint(0, 250)) if is_stock else 0.0,
        active=rng.random() < 0.95,
    )


def shared_catalog(seed: int, count: int) -> list[CatalogItem]:
    """Articles 1..count; a longer catalogue extends a shorter one, never changes it."""
    return [catalog_item(seed, n) for n in range(1, count + 1)]
