"""The lease keeper renews while the block runs, and stops when it ends."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from koppel.common.leases import kept_alive


async def test_renews_while_the_block_runs_and_stops_after() -> None:
    renewals = 0

    async def renew() -> bool:
        nonlocal renewals
        renewals += 1
        return True

    async with kept_alive(renew, timedelta(seconds=0.06)):
        await asyncio.sleep(0.25)  # about twelve beats of 0.02 s
    during = renewals
    await asyncio.sleep(0.1)
    assert during >= 3
    assert renewals == during


async def test_a_lost_claim_is_reported_and_not_renewed_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = 0

    async def renew() -> bool:
        nonlocal calls
        calls += 1
        return False

    with caplog.at_level(logging.WARNING, logger="koppel.common.leases"):
        async with kept_alive(renew, timedelta(seconds=0.03), what="test claim"):
            await asyncio.sleep(0.2)
    assert calls == 1
    assert "test claim lapsed" in caplog.text


async def test_a_failing_renewal_is_tried_again_at_the_next_beat() -> None:
    calls = 0

    async def renew() -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database hiccup")
        return True

    async with kept_alive(renew, timedelta(seconds=0.03)):
        await asyncio.sleep(0.2)
    assert calls >= 2
