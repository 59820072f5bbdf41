"""Clock, rate limiter and seeding helpers of the shared sandbox infrastructure."""

from __future__ import annotations

from datetime import UTC, datetime

from koppel.sandbox.common import RateLimiter, SandboxClock, isoformat_z
from koppel.sandbox.common.people import make_party
from koppel.sandbox.common.seeding import (
    KNOWN_SKU_PATTERN,
    ean_for_article,
    is_valid_ean13,
    shared_catalog,
    substream,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_clock_freeze_set_advance() -> None:
    clock = SandboxClock(T0)
    clock.freeze()
    frozen = clock.now()
    assert clock.now() == frozen
    clock.advance(90)
    assert (clock.now() - frozen).total_seconds() == 90
    clock.set(T0)
    assert clock.now() == T0
    assert isoformat_z(T0) == "2024-05-01T12:00:00.000Z"


def test_rate_limiter_sliding_window() -> None:
    clock = SandboxClock(T0)
    clock.freeze()
    limiter = RateLimiter(clock, limit=3, window_seconds=60)
    assert [limiter.hit("a") for _ in range(3)] == [None, None, None]
    assert limiter.hit("a") == 60
    assert limiter.hit("b") is None  # other key, own budget
    clock.advance(45)
    assert limiter.hit("a") == 15
    clock.advance(15)
    assert limiter.hit("a") is None


def test_catalog_is_deterministic_and_prefix_stable() -> None:
    short = shared_catalog(42, 10)
    long = shared_catalog(42, 50)
    assert long[:10] == short
    assert shared_catalog(7, 10) != short
    assert all(KNOWN_SKU_PATTERN.match(item.sku) for item in long)
    assert all(is_valid_ean13(item.ean) and len(item.name) <= 50 for item in long)
    assert len({item.ean for item in long}) == 50
    assert is_valid_ean13(ean_for_article(1))
    assert not is_valid_ean13("8719991000010")


def test_parties_are_deterministic() -> None:
    a = [make_party(substream(1, "p"), country="SE", company=True, index=i) for i in range(3)]
    b = [make_party(substream(1, "p"), country="SE", company=True, index=i) for i in range(3)]
    assert a == b
    assert all(p.email.isascii() and "@" in p.email for p in a)
