"""Keeping a claim's lease alive while its owner is still at work.

A claim (a row saying "replica X is creating this record until T") must lapse when its owner
dies, or the record is blocked for ever; but it must *not* lapse while the owner is merely
slow, or a second replica takes over mid-call and creates the record twice. A fixed lease
cannot be both: AccountView may take longer than any lease short enough to recover quickly.
So the owner renews the lease in the background every third of its length while it works;
a killed owner stops renewing and its claim lapses one lease later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

log = logging.getLogger(__name__)

Renew = Callable[[], Awaitable[bool]]


@contextlib.asynccontextmanager
async def kept_alive(renew: Renew, lease: timedelta, *, what: str = "claim") -> AsyncIterator[None]:
    """Run ``renew`` every third of ``lease`` until the block ends.

    ``renew`` returns False when the claim is no longer ours (taken over after a stall
    longer than the lease): that is logged, not raised, because the work in progress (an API
    call already sent) cannot be undone by stopping it, and its existence check on the next
    attempt is what sorts the outcome out.
    """
    interval = max(lease.total_seconds() / 3, 0.01)

    async def renewing() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                if not await renew():
                    log.warning("%s lapsed while its owner was still at work", what)
                    return
            except Exception:  # a database hiccup: try again at the next beat
                log.warning("could not renew the %s's lease", what, exc_info=True)

    task = asyncio.create_task(renewing(), name=f"lease:{what}")
    try:
        yield
    finally:
        task.cancel()
        # gather() collects the renewer's CancelledError without swallowing our own.
        await asyncio.gather(task, return_exceptions=True)
