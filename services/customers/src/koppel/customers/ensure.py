"""Ensuring a debtor in AccountView for a customer (``EnsureCustomer`` from the order saga,
``CustomerMapped`` from the customers flow). Answers ``CustomerEnsured`` or
``CustomerFailed`` with the asking message's correlation id.

Cheap on purpose: a link that already holds the debtor and whose wanted fields did not
change since we last wrote them costs no API call at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import Any
from uuid import uuid4

from koppel.common.errors import PermanentError
from koppel.common.events import (
    CustomerEnsured,
    CustomerFailed,
    EntityRef,
    EntityType,
    UpsertOutcome,
)
from koppel.common.leases import kept_alive
from koppel.common.messages import Message
from koppel.common.uow import UnitOfWork
from koppel.customers.adapters.ports import CustomersPorts
from koppel.customers.claims import Claims, CustomerBeingCreated
from koppel.customers.debtors import Outcome, plan, shape_debtor
from koppel.customers.matching import check_email
from koppel.customers.tenant_settings import CustomersConfig

JSON = dict[str, Any]

_OUTCOME = {
    Outcome.create: UpsertOutcome.created,
    Outcome.update: UpsertOutcome.updated,
    Outcome.unchanged: UpsertOutcome.unchanged,
    Outcome.default_debtor: UpsertOutcome.unchanged,
}


def fields_hash(fields: JSON) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


class CustomerSteps:
    def __init__(self, ports: CustomersPorts, claims: Claims) -> None:
        self.ports = ports
        self.claims = claims

    async def config(self, tenant_id: str) -> CustomersConfig:
        settings = await self.ports.settings(tenant_id)
        return CustomersConfig.from_json(
            settings.get("customers", settings), settings.get("orders")
        )

    async def ensure(
        self,
        message: Message,
        uow: UnitOfWork,
        *,
        mapped: JSON,
        source: JSON,
        source_id: str,
    ) -> None:
        tenant = message.tenant_id
        config = await self.config(tenant)
        email = check_email(mapped.get("MAIL_BUS") or source.get("EmailAddress"))
        entity = EntityRef(type=EntityType.customer, source_id=source_id, key=email.email or None)
        wanted = shape_debtor(mapped, email.email, source) if email.ok else dict(mapped)
        if config.default_debtor or not email.ok:
            result = plan(
                email=email,
                wanted=wanted,
                existing=None,
                update_existing=config.update_existing,
                default_debtor=config.default_debtor,
            )
            if result.outcome is Outcome.fail:
                self._failed(uow, message, entity, result.reason_code, result.reason, source)
            else:
                self._ensured(
                    uow, message, entity, result.debtor_number or "", UpsertOutcome.unchanged, None
                )
            return
        digest = fields_hash(wanted)
        # One owner per attempt: a concurrent duplicate of this very message must wait, not
        # share the claim; a crashed attempt's claim lapses with its lease.
        owner = uuid4().hex
        async with self.claims.local(tenant, email.email):
            link = await self.claims.claim(tenant, email.email, owner=owner)
            target = await self.ports.target(tenant)
            existing: JSON | None = None
            if link is not None and link.debtor_number:
                if not config.update_existing or link.fields_hash == digest:
                    self._ensured(
                        uow, message, entity, link.debtor_number, UpsertOutcome.unchanged, None
                    )
                    return
                existing = await target.get(link.debtor_number)
            renew = partial(self.claims.renew, tenant, email.email, owner)
            # While AccountView works, the claim must not lapse (a second replica would
            # create the debtor again); a claim held only as a redelivery's link is not ours.
            keeper: AbstractAsyncContextManager[None] = (
                kept_alive(renew, self.claims.lease, what="debtor claim")
                if link is None
                else contextlib.nullcontext()
            )
            async with keeper:
                try:
                    if existing is None:
                        existing = await target.find_by_email(email.email)
                    result = plan(
                        email=email,
                        wanted=wanted,
                        existing=existing,
                        update_existing=config.update_existing,
                        default_debtor=None,
                    )
                    if result.outcome is Outcome.create:
                        # Last look at our claim before writing: an owner that stalled past
                        # its lease may have been taken over, and the new owner creates the
                        # debtor; creating it here as well would make two.
                        if link is None and not await renew():
                            raise CustomerBeingCreated(email.email)
                        number = await target.create(result.fields)
                    elif result.outcome is Outcome.update:
                        number = result.debtor_number or ""
                        await target.update(result.fields)
                    else:
                        number = result.debtor_number or ""
                except PermanentError as exc:
                    await self.claims.release(tenant, email.email, owner)
                    self._failed(
                        uow,
                        message,
                        entity,
                        exc.reason_code,
                        f"AccountView refused the debtor: {exc.reason}",
                        source,
                    )
                    return
                except BaseException:
                    # Let the next attempt (or another order) go ahead at once; if the debtor
                    # was created after all, it finds it by e-mail.
                    await self.claims.release(tenant, email.email, owner)
                    raise
            # With update off an existing debtor's fields are not ours: store no hash, so
            # turning updates on later compares against AccountView, not against our memory.
            keep_hash = result.outcome is not Outcome.unchanged or config.update_existing
            await self.claims.settle(
                tenant, email.email, number, source_id, digest if keep_hash else ""
            )
            written = result.fields if result.outcome is not Outcome.unchanged else None
            self._ensured(uow, message, entity, number, _OUTCOME[result.outcome], written)

    @staticmethod
    def _ensured(
        uow: UnitOfWork,
        message: Message,
        entity: EntityRef,
        number: str,
        outcome: UpsertOutcome,
        written: JSON | None,
    ) -> None:
        uow.publish(
            message.follow_up(
                CustomerEnsured,
                entity=entity.model_copy(update={"target_id": number}),
                debtor_number=number,
                outcome=outcome,
                target=written,
            )
        )

    @staticmethod
    def _failed(
        uow: UnitOfWork, message: Message, entity: EntityRef, code: str, reason: str, source: JSON
    ) -> None:
        uow.publish(
            message.follow_up(
                CustomerFailed,
                entity=entity,
                reason_code=code,
                reason=reason,
                step="ensure_customer",
                source=source or None,
            )
        )
