"""Coalesced acknowledgements: every delivery acked exactly once, and only when done."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from aiormq.abc import AbstractChannel

from koppel.common.bus.acks import AckBatcher


class FakeChannel:
    def __init__(self) -> None:
        self.acks: list[tuple[int, bool]] = []

    async def basic_ack(self, delivery_tag: int, multiple: bool = False) -> None:
        self.acks.append((delivery_tag, multiple))


def batcher(tags: range) -> tuple[AckBatcher, FakeChannel]:
    channel = FakeChannel()
    acker = AckBatcher(cast(AbstractChannel, cast(Any, channel)))
    for tag in tags:
        acker.delivered(tag)
    return acker, channel


async def test_handlers_done_together_are_acked_with_one_multiple_ack() -> None:
    acker, channel = batcher(range(1, 6))
    await asyncio.gather(*(acker.ack(tag) for tag in (3, 1, 2)))
    assert channel.acks == [(3, True)]


async def test_done_behind_a_running_handler_are_acked_one_by_one() -> None:
    # Given deliveries 1..4 of which 2 is still running
    acker, channel = batcher(range(1, 5))
    # When 1, 3 and 4 finish
    await asyncio.gather(acker.ack(1), acker.ack(3), acker.ack(4))
    # Then 1 goes as the run in front, 3 and 4 alone (2 stays unacknowledged)
    assert channel.acks == [(1, True), (3, False), (4, False)]
    # And when 2 finishes, it is acked on its own: nothing is acked twice
    await acker.ack(2)
    assert channel.acks[-1] == (2, True)
    assert sorted(tag for tag, _ in channel.acks) == [1, 2, 3, 4]


async def test_nacked_delivery_does_not_block_the_run() -> None:
    acker, channel = batcher(range(1, 4))
    acker.settled(1)  # nacked by the consumer itself
    await asyncio.gather(acker.ack(2), acker.ack(3))
    assert channel.acks == [(3, True)]
