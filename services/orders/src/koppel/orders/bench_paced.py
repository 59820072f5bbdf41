"""Offered load for ``koppel bench orders --processes --rate R``.

The in-process ``--rate`` mode (``bench._paced``) takes the seeded orders out of its
in-process eAccounting store and puts them back at a steady pace while runs poll for them.
Here the sandbox is another OS process, so the same is done over its control API: the seeded
orders are read (``GET /_sandbox/state``), the sandbox is reseeded without orders (same seed:
the same customers and articles), and each order is created again at its turn through
``POST /_sandbox/orders``, which gives it a new id and ``ModifiedUtc`` = now, like a customer
placing it. Runs are requested through the gateway's public API at most every
``POLL_INTERVAL`` seconds, as a scheduler polling eAccounting often would; while one is still
going the gateway answers 409 and the next poll tries again.

The pure parts (pacing schedule, latency summary) are separate so that a fast test covers
them; the rest needs the real processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from koppel.common.events import OrderFailed, OrderSkipped, OrderSynced
from koppel.orders.bench import POLL_INTERVAL, _ms, _percentile

# ``kept_up``: the last outcome came at most this long after the last order was placed.
KEPT_UP_SECONDS = 2.0


def arrival_offsets(n: int, rate: float) -> list[float]:
    """Seconds after the start at which each of ``n`` orders is placed: a steady ``rate``."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    return [i / rate for i in range(n)]


def first_outcomes(outcomes: Iterable[tuple[str, float]]) -> dict[str, float]:
    """The earliest outcome time per order id: a poll that reads an order again (same
    ``ModifiedUtc`` as the watermark) may give it a second outcome, which is no new latency."""
    first: dict[str, float] = {}
    for source_id, at in outcomes:
        if source_id not in first or at < first[source_id]:
            first[source_id] = at
    return first


def paced_summary(
    rate: float, placed: dict[str, float], outcomes: dict[str, float]
) -> dict[str, Any]:
    """Placed-to-outcome latencies of the orders that have both (times in one clock)."""
    latencies = [outcomes[key] - at for key, at in placed.items() if key in outcomes]
    last_placed = max(placed.values(), default=0.0)
    answered = [outcomes[key] for key in placed if key in outcomes]
    last_outcome = max(answered, default=0.0)
    complete = bool(placed) and len(answered) == len(placed)
    lag = last_outcome - last_placed if complete else None
    # The pace actually achieved: a busy bench process would place the orders late.
    span = last_placed - min(placed.values(), default=0.0)
    return {
        "offered_rate": rate,
        "placed": len(placed),
        "placed_per_second": round((len(placed) - 1) / span, 1) if span > 0 else 0.0,
        "completed": len(answered),
        "placed_to_outcome_p50_ms": _ms(_percentile(latencies, 0.50)),
        "placed_to_outcome_p95_ms": _ms(_percentile(latencies, 0.95)),
        "placed_to_outcome_max_ms": _ms(max(latencies, default=0.0)),
        "last_placed_to_last_outcome_ms": _ms(lag) if lag is not None else None,
        "kept_up": lag is not None and lag <= KEPT_UP_SECONDS,
    }


async def take_orders(
    http: httpx.AsyncClient, ea_url: str, n: int, *, reseed: dict[str, Any]
) -> list[dict[str, Any]]:
    """The first ``n`` seeded orders that a tenant with the default orders settings syncs
    (shipped and invoiced: a draft would never get an outcome to wait for); the sandbox is
    then reseeded with ``reseed`` (the request that seeded it) without orders, so that they
    can be placed again later."""
    from koppel.orders.selection import select_order
    from koppel.orders.tenant_settings import OrdersConfig

    statuses = OrdersConfig().statuses
    state = (await http.get(f"{ea_url}/_sandbox/state")).raise_for_status().json()
    orders = [o for o in state["data"]["orders"] if select_order(o, statuses=statuses).keep]
    reset = await http.post(f"{ea_url}/_sandbox/reset", json={**reseed, "orders": 0})
    reset.raise_for_status()
    return orders[:n]


async def place_orders(
    http: httpx.AsyncClient,
    ea_url: str,
    orders: list[dict[str, Any]],
    rate: float,
    placed: dict[str, float],
) -> None:
    """Create ``orders`` at ``rate`` per second; ``placed`` gets each new id and the moment
    its request was sent (``time.perf_counter``, the recorder's clock). Each is its own task
    so a slow answer from a busy sandbox does not hold back the orders after it."""

    async def place(order: dict[str, Any], at: float) -> None:
        response = await http.post(f"{ea_url}/_sandbox/orders", json=order)
        placed[str(response.raise_for_status().json()["Id"])] = at

    started = time.perf_counter()
    pending: list[asyncio.Task[None]] = []
    for order, offset in zip(orders, arrival_offsets(len(orders), rate), strict=True):
        delay = started + offset - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        pending.append(asyncio.create_task(place(order, time.perf_counter())))
    await asyncio.gather(*pending)


@dataclass
class Polls:
    started: int = 0  # runs the gateway accepted
    busy: int = 0  # polls answered 409: the previous run was still going
    error: str | None = None


async def poll_runs(
    http: httpx.AsyncClient,
    gateway: str,
    headers: dict[str, str],
    done: Callable[[], bool],
    deadline: float,
) -> Polls:
    """Ask the gateway for an orders run every ``POLL_INTERVAL`` s until ``done()`` or the
    ``deadline`` (``time.perf_counter``)."""
    polls = Polls()
    while not done() and time.perf_counter() < deadline:
        began = time.perf_counter()
        try:
            response = await http.post(f"{gateway}/v1/flows/orders/runs", headers=headers)
            if response.status_code == 202:
                polls.started += 1
            elif response.status_code == 409 and "still going" in response.text:
                polls.busy += 1
            else:
                polls.error = f"{response.status_code} {response.text[:300]}"
        except httpx.HTTPError as exc:
            polls.error = f"{type(exc).__name__}: {exc}"
        await asyncio.sleep(max(0.0, began + POLL_INTERVAL - time.perf_counter()))
    return polls


async def offer(
    http: httpx.AsyncClient,
    gateway: str,
    headers: dict[str, str],
    ea_url: str,
    held: list[dict[str, Any]],
    rate: float,
    recorder: Any,
) -> dict[str, Any]:
    """Place ``held`` at ``rate`` while polling for runs, until every placed order has an
    outcome or a deadline (the offering time plus a drain window) passes."""
    placed: dict[str, float] = {}

    def outcomes() -> dict[str, float]:
        return first_outcomes(
            (m.entity.source_id, recorder.seen_at[m.message_id])
            for kind in (OrderSynced, OrderSkipped, OrderFailed)
            for m in recorder.of(kind)
        )

    placing = asyncio.create_task(place_orders(http, ea_url, held, rate, placed))

    def done() -> bool:
        if not placing.done():
            return False
        seen = outcomes()
        return all(key in seen for key in placed)

    deadline = time.perf_counter() + len(held) / rate + max(60.0, len(held) * 0.25)
    try:
        polls = await poll_runs(http, gateway, headers, done, deadline)
    finally:
        if not placing.done():
            placing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await placing
    return {
        **paced_summary(rate, placed, outcomes()),
        "runs_started": polls.started,
        "polls_busy": polls.busy,
        "poll_error": polls.error,
        "deadline_reached": not done(),
    }
