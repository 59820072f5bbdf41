"""Customers use cases: called by ``handlers.py`` and ``api.py`` with a unit of work or the
service context, never with transport details."""

from __future__ import annotations

from koppel.common.runtime import ServiceContext
from koppel.customers.models import TABLES, ServiceInfo


def describe(ctx: ServiceContext, handler_names: list[str]) -> ServiceInfo:
    return ServiceInfo(
        service=ctx.name,
        handlers=handler_names,
        tables=[table.__tablename__ for table in TABLES],
    )
