"""The order saga as pure decisions (DESIGN.md section 3, orders flow).

One saga per source order and run, keyed by the correlation id the poller gave the order.
Its row lives in the orders schema (``order_sagas``), written in the same transaction as the
outbox event of each step, so a crash or a redelivery at any step finds the saga where it
stopped instead of starting it again:

    OrderMapped ──▶ already linked / found in AccountView ──▶ skipped (OrderSkipped)
         │
         └──▶ awaiting_customer (EnsureCustomer sent)
                 ├── CustomerFailed ──▶ failed (OrderFailed)
                 └── CustomerEnsured ──▶ products missing ──▶ failed (OrderFailed, permanent)
                                     └─▶ created ──▶ synced (OrderSynced, link written)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class SagaState(StrEnum):
    awaiting_customer = "awaiting_customer"
    synced = "synced"
    skipped = "skipped"
    failed = "failed"

    @property
    def finished(self) -> bool:
        return self is not SagaState.awaiting_customer


class Action(StrEnum):
    ignore = "ignore"  # a redelivery or a late message: nothing to do, nothing to publish
    skip = "skip"  # publish OrderSkipped
    dry_run = "dry_run"  # a dry run: mapped is as far as it goes, write nothing
    ensure_customer = "ensure_customer"  # save the saga, send EnsureCustomer
    fail = "fail"  # publish OrderFailed
    create = "create"  # create in AccountView, link, publish OrderSynced


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str = ""
    target_number: str | None = None


def on_order_mapped(
    *,
    saga_state: SagaState | None,
    linked_number: str | None,
    found_number: str | None,
    dry_run: bool,
) -> Decision:
    """What an ``OrderMapped`` leads to.

    ``linked_number``: the AccountView number our link table already holds for this source
    order; ``found_number``: what the existence check in AccountView found (the order
    number written in the mapped field). Either one means the order exists: skip.
    """
    if saga_state is not None:
        return Decision(Action.ignore, f"saga already {saga_state.value}")
    existing = linked_number or found_number
    if existing:
        return Decision(
            Action.skip, f"the order already exists in AccountView as {existing}", existing
        )
    if dry_run:
        return Decision(Action.dry_run, "dry run: fetched and mapped, nothing written")
    return Decision(Action.ensure_customer)


def on_customer_answer(*, saga_state: SagaState | None) -> Decision:
    """``CustomerEnsured``/``CustomerFailed`` only move a saga that is waiting for one."""
    if saga_state is None:
        return Decision(Action.ignore, "no saga waits for this customer")
    if saga_state.finished:
        return Decision(Action.ignore, f"saga already {saga_state.value}")
    return Decision(Action.create)


def missing_skus(needed: Iterable[str], found: Iterable[str]) -> list[str]:
    """SKUs the order needs that AccountView does not have, in first-seen order.

    AccountView article codes are compared trimmed and case-insensitively: FoxPro pads and
    may upper-case character keys, and a bookkeeper means the same article either way.
    """
    have = {code.strip().upper() for code in found}
    missing: list[str] = []
    seen: set[str] = set()
    for sku in needed:
        key = sku.strip().upper()
        if key and key not in have and key not in seen:
            seen.add(key)
            missing.append(sku.strip())
    return missing


def missing_products_reason(missing: list[str]) -> str:
    listed = ", ".join(missing)
    noun = "product does" if len(missing) == 1 else "products do"
    return f"The order cannot be created: {noun} not exist in AccountView: {listed}."
