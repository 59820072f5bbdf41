"""``TenantGate`` on its own: when it defers, for how long, and when it lets a message wait.

A manual clock and a stand-in bucket: the turns are computed, not waited for.
"""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any, cast

import pytest

from koppel.catalog.fairness import TenantGate
from koppel.common.errors import TransientError
from koppel.connectors.common.ratelimit import RateLimit
from koppel.connectors.eaccounting.client import EAccountingClient

LIMIT = RateLimit(600, 60.0)


class ManualClock:
    speed = 20.0  # a time-scaled limit: 20 limit seconds per real second

    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t


class Bucket:
    limit = LIMIT
    name = "acme:eaccounting/eaccounting//articles"

    def __init__(self) -> None:
        self.waiting = 0
        self.free_in = 30.0  # the next token is free 30 s from now, the rest 0.1 s apart

    def ready_in(self, count: int) -> float:
        return self.free_in + (count - 1) * 0.1


def client(bucket: Bucket, clock: ManualClock) -> EAccountingClient:
    registry: Any = SimpleNamespace(clock=clock, existing_bucket=lambda *_key: bucket)
    settings = SimpleNamespace(rate_limit=LIMIT, connection_id="acme:eaccounting")
    return cast(
        EAccountingClient,
        SimpleNamespace(http=SimpleNamespace(settings=settings, registry=registry)),
    )


def deferral(gate: TenantGate, message_id: uuid.UUID, c: EAccountingClient) -> float:
    with pytest.raises(TransientError) as caught:
        gate.admit(message_id, c)
    assert caught.value.reason_code == "tenant_rate_limited"
    assert caught.value.retry_after is not None
    return caught.value.retry_after


def test_defers_only_while_the_tenant_has_a_backlog_of_its_own() -> None:
    clock, bucket = ManualClock(), Bucket()
    gate = TenantGate(share=8, bus_time_scale=0.05)
    c = client(bucket, clock)
    bucket.waiting = 7
    gate.admit(uuid.uuid4(), c)  # fewer than ``share`` wait: go on
    gate.admit(uuid.uuid4(), None)  # no eAccounting client: nothing to judge
    bucket.waiting = 8
    first = deferral(gate, uuid.uuid4(), c)
    second = deferral(gate, uuid.uuid4(), c)
    # The first deferred comes back when the 9th token is free (after the 8 waiting), in the
    # bus's unscaled seconds: limit seconds / 20 (clock) / 0.05 (bus) = the same number.
    assert first == pytest.approx(30.0 + 8 * 0.1)
    assert second == pytest.approx(30.0 + 9 * 0.1)  # the next turn, not the same one
    assert gate.deferred == 2


def test_a_message_back_at_its_turn_waits_for_its_token() -> None:
    clock, bucket = ManualClock(), Bucket()
    gate = TenantGate(share=2, bus_time_scale=1.0)
    c = client(bucket, clock)
    bucket.waiting = 5
    message = uuid.uuid4()
    wait = deferral(gate, message, c)
    clock.t += wait * clock.speed  # the bus brought it back at its turn
    gate.admit(message, c)  # the tenant is still busy, but this is its turn: no deferral
    assert gate.deferred == 1


def test_a_message_is_deferred_at_most_max_deferrals_times() -> None:
    clock, bucket = ManualClock(), Bucket()
    gate = TenantGate(share=1, bus_time_scale=1.0, max_deferrals=2)
    c = client(bucket, clock)
    bucket.waiting = 3
    message = uuid.uuid4()
    deferral(gate, message, c)
    deferral(gate, message, c)  # back too early (no time passed): deferred again
    gate.admit(message, c)  # the third time it stays
    gate.done(message)
    deferral(gate, message, c)  # forgotten once handled: a new delivery counts anew
