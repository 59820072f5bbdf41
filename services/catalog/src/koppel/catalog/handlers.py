"""Catalog consumers: one async function per consumed message, registered in ``HANDLERS``.

A handler takes the typed message and a ``UnitOfWork``; it stages state with ``uow.add`` and
outgoing messages with ``uow.publish``; the runtime commits them with the inbox row. Raise
``TransientError`` to be retried, ``PermanentError`` to be dead-lettered::

    async def handle_order_mapped(message: OrderMapped, uow: UnitOfWork) -> None: ...

    HANDLERS = [HandlerBinding.on(OrderMapped, handle=handle_order_mapped)]
"""

from __future__ import annotations

from koppel.common.runtime import HandlerBinding, ServiceContext

HANDLERS: list[HandlerBinding] = []


def bindings(_ctx: ServiceContext) -> list[HandlerBinding]:
    """The handler table; ``_ctx`` is there for handlers that close over dependencies."""
    return list(HANDLERS)
