"""A socket writer that sends everything written in one loop iteration in one system call.

aiormq writes every frame group (a publish, an ack) with its own ``socket.send``. When the
bus publishes a batch concurrently, hundreds of frames are written in the same iteration,
and on small or sandboxed machines each send costs more than building the frame. This
transport collects the writes and hands them to the real transport once, on the next
iteration: the same bytes in the same order, in far fewer calls.

It plugs in through aiormq's own extension point (``TransportFactory``), passed down by a
``RobustConnection`` subclass so that every reconnection gets it too.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aio_pika import RobustConnection
from aiormq.connection import TCPTransportFactory, TLSTransportFactory, TransportFactory

if TYPE_CHECKING:
    from yarl import URL

# aiormq hands the writer one frame group per loop iteration (its write queue holds ten and
# the channel lock is handed over once per iteration), so collecting for one iteration is not
# enough; a millisecond gathers a window's publishes or a burst of acks into one send.
FLUSH_DELAY = 0.001


class _CoalescingTransport(asyncio.Transport):
    def __init__(self, inner: asyncio.WriteTransport, original: asyncio.StreamWriter) -> None:
        super().__init__()
        self._inner = inner
        # A collected StreamWriter closes its transport (StreamWriter.__del__): keep it alive.
        self._original = original
        self._pending: list[bytes] = []
        self._loop = asyncio.get_running_loop()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            self._loop.call_later(FLUSH_DELAY, self._flush)
        self._pending.append(bytes(data))

    def _flush(self) -> None:
        if self._pending and not self._inner.is_closing():
            data = b"".join(self._pending)
            self._pending.clear()
            self._inner.write(data)
        self._pending.clear()

    def close(self) -> None:
        self._flush()
        self._inner.close()

    def abort(self) -> None:
        self._pending.clear()
        self._inner.abort()

    def is_closing(self) -> bool:
        return self._inner.is_closing()

    def can_write_eof(self) -> bool:
        return self._inner.can_write_eof()

    def write_eof(self) -> None:
        self._flush()
        self._inner.write_eof()

    def get_write_buffer_size(self) -> int:
        return self._inner.get_write_buffer_size() + sum(map(len, self._pending))

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._inner.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._inner.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._inner.get_protocol()


class CoalescingTransportFactory(TransportFactory):
    async def create(
        self, url: URL, **kwargs: Any
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        plain = TLSTransportFactory() if url.scheme == "amqps" else TCPTransportFactory()
        reader, writer = await plain.create(url, **kwargs)
        transport = _CoalescingTransport(writer.transport, writer)
        protocol = writer.transport.get_protocol()
        loop = asyncio.get_running_loop()
        return reader, asyncio.StreamWriter(transport, protocol, reader, loop)


class CoalescingRobustConnection(RobustConnection):
    """``RobustConnection`` whose every (re)connection writes through the coalescing transport."""

    def __init__(self, url: URL, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        # Handed to aiormq.Connection on each connect (aio-pika passes self.kwargs through).
        self.kwargs["transport_factory"] = CoalescingTransportFactory()
