"""The message envelope and the registry that turns bus bodies back into typed messages.

Every event and command is a frozen pydantic model that inherits the envelope. Its routing
key is derived from its class name, kind and schema version, e.g. ``OrderFetched`` (an
event, version 1) travels as ``event.order_fetched.v1``; consumers bind with topic
patterns such as ``event.order_*.v1`` or ``event.#``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal, Self, TypeVar
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from koppel.common.errors import MalformedMessage


class Flow(StrEnum):
    orders = "orders"
    customers = "customers"
    products = "products"
    stock = "stock"


class Direction(StrEnum):
    eaccounting_to_accountview = "eaccounting_to_accountview"
    accountview_to_eaccounting = "accountview_to_eaccounting"


FLOW_DIRECTION: dict[Flow, Direction] = {
    Flow.orders: Direction.eaccounting_to_accountview,
    Flow.customers: Direction.eaccounting_to_accountview,
    Flow.products: Direction.accountview_to_eaccounting,
    Flow.stock: Direction.accountview_to_eaccounting,
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Message(BaseModel):
    """The envelope every message carries (DESIGN.md section 3)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ClassVar[Literal["event", "command"]]
    schema_version: ClassVar[int] = 1

    message_id: UUID = Field(default_factory=uuid4)
    tenant_id: str = Field(min_length=1, max_length=64)
    flow: Flow | None = None
    run_id: UUID | None = None
    correlation_id: UUID = Field(default_factory=uuid4)
    causation_id: UUID | None = None
    occurred_at: AwareDatetime = Field(default_factory=utcnow)
    traceparent: str | None = None
    version: int = 1

    @classmethod
    def routing_key(cls) -> str:
        return f"{cls.kind}.{_snake(cls.__name__)}.v{cls.schema_version}"

    def follow_up(self, message_type: type[M], **fields: Any) -> M:
        """A message caused by this one: same tenant, flow, run and correlation."""
        envelope: dict[str, Any] = {
            "tenant_id": self.tenant_id,
            "flow": self.flow,
            "run_id": self.run_id,
            "correlation_id": self.correlation_id,
            "causation_id": self.message_id,
            "traceparent": self.traceparent,
        }
        envelope.update(fields)
        return message_type(**envelope)

    def with_traceparent(self, traceparent: str | None) -> Self:
        return self.model_copy(update={"traceparent": traceparent})


M = TypeVar("M", bound=Message)


class Event(Message):
    """Something that happened (past tense)."""

    kind: ClassVar[Literal["event", "command"]] = "event"


class Command(Message):
    """Something a service is asked to do (imperative)."""

    kind: ClassVar[Literal["event", "command"]] = "command"


_REGISTRY: dict[str, type[Message]] = {}


def register(message_type: type[M]) -> type[M]:
    """Class decorator: make a message type known to ``parse_message``."""
    key = message_type.routing_key()
    if key in _REGISTRY and _REGISTRY[key] is not message_type:
        raise ValueError(f"routing key {key} is registered twice")
    _REGISTRY[key] = message_type
    return message_type


def message_types() -> dict[str, type[Message]]:
    return dict(_REGISTRY)


def message_type_for(routing_key: str) -> type[Message]:
    try:
        return _REGISTRY[routing_key]
    except KeyError:
        raise MalformedMessage(
            f"no message type is known for routing key {routing_key!r}", routing_key=routing_key
        ) from None


def parse_message(routing_key: str, body: bytes | str) -> Message:
    """Decode a bus body into its typed message, or raise ``MalformedMessage`` saying why."""
    message_type = message_type_for(routing_key)
    try:
        return message_type.model_validate_json(body)
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<body>'}: {err['msg']}"
            for err in exc.errors()
        )
        raise MalformedMessage(
            f"body of {routing_key} does not validate: {details}", routing_key=routing_key
        ) from exc


def encode_message(message: Message) -> bytes:
    return message.model_dump_json().encode()
