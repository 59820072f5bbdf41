"""The catalog of commands (imperative): requests one service makes of another."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from koppel.common.events import EntityRef
from koppel.common.messages import Command, register

JSON = dict[str, Any]


@register
class EnsureCustomer(Command):
    """Orders asks customers: make sure this debtor exists, then answer ``CustomerEnsured``
    with the same correlation id. ``customer`` is the debtor in AccountView's shape as the
    mapper produced it; ``source`` the eAccounting customer it came from."""

    entity: EntityRef
    customer: JSON
    source: JSON = Field(default_factory=dict)


@register
class ReplayMessage(Command):
    """Put a dead-lettered message back on the bus (after a fix)."""

    original_routing_key: str
    body: str
