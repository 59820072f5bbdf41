"""Coalesced acknowledgements for one AMQP channel.

Every frame the client sends costs a socket write, and on small machines (or sandboxed
kernels) that write is the most expensive step of consuming a message. Handlers that finish
in the same loop iteration are therefore acknowledged together: the longest run of finished
deliveries at the front of the channel's unacknowledged list goes out as one
``basic.ack multiple=true``; finished deliveries behind a still-running one are acknowledged
one by one, so a slow handler never holds the others' prefetch slots.

A delivery is acknowledged only after its handler returned, and the handler's task awaits
the ack being written, so ``stop()`` waiting for in-flight tasks also waits for their acks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from aiormq.abc import AbstractChannel


class AckBatcher:
    def __init__(self, channel: AbstractChannel) -> None:
        self.channel = channel
        self._outstanding: dict[int, None] = {}  # delivery tags in delivery order
        self._done: set[int] = set()
        self._settled: set[int] = set()  # nacked elsewhere: no ack, but no longer blocking
        self._waiters: list[asyncio.Future[None]] = []
        self._flusher: asyncio.Task[None] | None = None

    def delivered(self, tag: int) -> None:
        self._outstanding[tag] = None

    def settled(self, tag: int) -> None:
        """The delivery was nacked/rejected directly; stop waiting for its ack."""
        self._settled.add(tag)

    def ack(self, tag: int) -> Awaitable[None]:
        """Queue the ack of ``tag``; the result resolves once the frame was written."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._done.add(tag)
        self._waiters.append(waiter)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return waiter

    async def _flush(self) -> None:
        while self._done:
            await asyncio.sleep(0)  # let the handlers finishing in this iteration join in
            done, self._done = self._done, set()
            waiters, self._waiters = self._waiters, []
            try:
                await self._send(done)
            except Exception as exc:  # channel gone: the broker redelivers, callers log it
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_exception(exc)
            else:
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)

    async def _send(self, done: set[int]) -> None:
        last_in_run: int | None = None
        for tag in list(self._outstanding):
            if tag in done:
                last_in_run = tag
                done.discard(tag)
            elif tag in self._settled:
                self._settled.discard(tag)
            else:
                break
            del self._outstanding[tag]
        if last_in_run is not None:
            await self.channel.basic_ack(delivery_tag=last_in_run, multiple=True)
        for tag in sorted(done):
            self._outstanding.pop(tag, None)
            await self.channel.basic_ack(delivery_tag=tag)
