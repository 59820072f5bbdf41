"""The catalog of events (DESIGN.md section 3). Past tense; each one a frozen model.

Record-level events carry an ``EntityRef`` (what record, in which system) and, where the
activity log needs it, the payload as it came from the source (``source``) or as it was
written to the target (``target``). Payloads are plain JSON objects: they are the APIs'
own shapes, validated by the connectors and the mapper, not re-modelled here.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from koppel.common.messages import Event, Flow, register

JSON = dict[str, Any]


class EntityType(StrEnum):
    order = "order"
    customer = "customer"
    product = "product"
    stock = "stock"


class EntityRef(BaseModel):
    """Which record a message is about: its id in the source and, once known, in the target.

    ``key`` is the human key a bookkeeper searches for (order number, e-mail, SKU).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: EntityType
    source_id: str
    key: str | None = None
    target_id: str | None = None


class RunTrigger(StrEnum):
    schedule = "schedule"
    manual = "manual"
    webhook = "webhook"
    replay = "replay"


class UpsertOutcome(StrEnum):
    created = "created"
    updated = "updated"
    unchanged = "unchanged"


class RecordEvent(Event):
    """Base of the per-record events of every flow."""

    entity: EntityRef


class FailureEvent(RecordEvent):
    """A record that cannot go on. ``reason`` is a sentence a bookkeeper understands."""

    reason_code: str
    reason: str
    step: str
    details: JSON = Field(default_factory=dict)
    source: JSON | None = None


# --- runs -----------------------------------------------------------------------------------


@register
class FlowRunRequested(Event):
    """Start a run of one flow for one tenant (schedule, manual, webhook or replay).

    ``record_id`` narrows the run to one source record (webhook "customer 123 changed").
    ``full_sweep`` asks the poller to ignore the cursor. ``since`` moves the cursor back.
    """

    trigger: RunTrigger
    dry_run: bool = False
    record_id: str | None = None
    full_sweep: bool = False
    since: datetime | None = None


@register
class FlowRunFetched(Event):
    """The poller finished reading the source: ``fetched`` records are now on their way."""

    fetched: int
    filtered_out: int = 0
    cursor: str | None = None


@register
class FlowRunFailed(Event):
    """The run itself failed (e.g. a failed read of the source). The cursor did not move."""

    reason_code: str
    reason: str


@register
class FlowRunSkipped(Event):
    """A due run was not started because the previous one is still going."""

    reason: str
    running_run_id: UUID | None = None


# --- orders ---------------------------------------------------------------------------------


@register
class OrderFetched(RecordEvent):
    source: JSON
    enrichment: JSON = Field(default_factory=dict)


@register
class OrderMapped(RecordEvent):
    """An order in AccountView's shape. ``target`` holds the header and lines,
    ``customer`` the debtor to ensure, ``skus`` the article codes the lines need."""

    target: JSON
    customer: JSON
    skus: list[str]
    target_kind: str = "sales_order"  # or "sales_invoice"


@register
class OrderSkipped(RecordEvent):
    reason: str


@register
class OrderSynced(RecordEvent):
    target: JSON
    debtor_number: str


@register
class OrderFailed(FailureEvent):
    pass


# --- customers ------------------------------------------------------------------------------


@register
class CustomerFetched(RecordEvent):
    source: JSON


@register
class CustomerMapped(RecordEvent):
    target: JSON


@register
class CustomerEnsured(RecordEvent):
    debtor_number: str
    outcome: UpsertOutcome
    target: JSON | None = None


@register
class CustomerFailed(FailureEvent):
    pass


# --- products -------------------------------------------------------------------------------


@register
class ProductFetched(RecordEvent):
    source: JSON


@register
class ProductFilteredOut(RecordEvent):
    filter_name: str
    reason: str


@register
class ProductMapped(RecordEvent):
    target: JSON


@register
class ProductUpserted(RecordEvent):
    outcome: UpsertOutcome
    target: JSON | None = None


@register
class ProductDeactivated(RecordEvent):
    reason: str


@register
class ProductFailed(FailureEvent):
    pass


# --- stock ----------------------------------------------------------------------------------


@register
class StockLevelChanged(RecordEvent):
    quantity: float
    previous: float | None = None
    formula: str
    source: JSON


@register
class StockUpdated(RecordEvent):
    quantity: float


@register
class StockFailed(FailureEvent):
    pass


# --- platform -------------------------------------------------------------------------------


@register
class TenantConfigChanged(Event):
    """Something in a tenant's configuration changed; services drop their caches."""

    section: str  # "tenant", "connection:eaccounting", "flow:orders", "mapping:orders", ...


@register
class ConnectionNeedsConsent(Event):
    """A refresh was refused: the tenant must give consent again for ``system``."""

    system: str
    reason: str


@register
class MessageDeadLettered(Event):
    """The bus parked a message. ``body`` is the original body, so it can be replayed."""

    service: str
    queue: str
    original_routing_key: str
    original_message_id: str | None = None
    reason_code: str
    reason: str
    attempts: int
    body: str
    headers: JSON = Field(default_factory=dict)


def flows() -> list[Flow]:
    return list(Flow)
