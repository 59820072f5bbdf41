"""The order saga's steps, run by the handlers inside one ``UnitOfWork`` each.

Every step reads what it needs in a short read, calls AccountView with no transaction
open, then stages its state change and its outgoing event in the unit of work; the runtime
commits both with the inbox row. So each step is at-least-once *and* idempotent: a crash
after an API call is found again by the existence check (order by its number, delivery
address by the address), a redelivery finds the saga already moved.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import timedelta
from uuid import UUID, uuid4

import sqlalchemy as sa

from koppel.common.commands import EnsureCustomer
from koppel.common.db import Database
from koppel.common.errors import PermanentError, TransientError
from koppel.common.events import (
    CustomerEnsured,
    CustomerFailed,
    EntityRef,
    EntityType,
    OrderFailed,
    OrderMapped,
    OrderSkipped,
    OrderSynced,
    RecordEvent,
    UpsertOutcome,
)
from koppel.common.leases import kept_alive
from koppel.common.messages import utcnow
from koppel.common.uow import UnitOfWork
from koppel.orders import saga as rules
from koppel.orders.adapters.ports import OrdersPorts, OrderTarget
from koppel.orders.addresses import find_address
from koppel.orders.articles import ArticleCache
from koppel.orders.mapped import MappedOrder, read_mapped
from koppel.orders.models import LinkState, OrderLink, OrderRun, OrderSaga
from koppel.orders.saga import Action, SagaState
from koppel.orders.tenant_settings import OrdersConfig

log = logging.getLogger(__name__)

# A saga still waiting for its customer after this long is taken over by a newer run
# (its EnsureCustomer was dead-lettered, say), instead of blocking the order for ever.
STALE_PENDING = timedelta(hours=1)
CREATE_LEASE = timedelta(seconds=60)
# The lease guards against stalls (a loaded event loop, a GC pause, a slow disk) that do not
# shrink with a test's time scale: at 0.05 a 3 s lease lapsed under a chaos run's load, a
# second replica took over, and the order was created twice. So a floor in real time.
MIN_CREATE_LEASE = timedelta(seconds=10)
RUNS_REMEMBERED = 1024
DRY_RUN = "Dry run: the order was fetched and mapped; nothing was written to AccountView."


class OrderSteps:
    """The saga's steps for one service instance (holds the per-tenant article cache)."""

    def __init__(
        self,
        ports: OrdersPorts,
        articles: ArticleCache | None = None,
        *,
        time_scale: float = 1.0,
        min_create_lease: timedelta = MIN_CREATE_LEASE,
    ) -> None:
        self.ports = ports
        self.articles = articles or ArticleCache()
        # The create claim's lease lives in the bus's time (tests shrink both alike), down
        # to a floor in real time.
        self.create_lease = max(CREATE_LEASE * time_scale, min_create_lease)
        # Whether a run is dry, by run id: written once with the run's orders and never
        # changed, so one read per run serves all its orders (not one per order).
        self._dry_runs: OrderedDict[UUID, bool] = OrderedDict()

    def _remember_run(self, run_id: UUID, dry_run: bool) -> None:
        self._dry_runs[run_id] = dry_run
        while len(self._dry_runs) > RUNS_REMEMBERED:
            self._dry_runs.popitem(last=False)

    # --- OrderMapped ------------------------------------------------------------------------

    async def on_order_mapped(self, message: OrderMapped, uow: UnitOfWork) -> None:
        tenant, source_id = message.tenant_id, message.entity.source_id
        run_id = message.run_id
        dry_run = self._dry_runs.get(run_id) if run_id else False
        async with uow.read() as session:
            # The saga (if this order's run already took the step) and the order's link, in
            # one statement: both outer-joined onto a one-row select.
            one = sa.select(sa.literal(1).label("one")).subquery()
            row = (
                await session.execute(
                    sa.select(OrderSaga, OrderLink)
                    .select_from(one)
                    .outerjoin(
                        OrderSaga,
                        OrderSaga.correlation_id == message.correlation_id,  # type: ignore[arg-type]
                    )
                    .outerjoin(
                        OrderLink,
                        sa.and_(
                            OrderLink.tenant_id == tenant,  # type: ignore[arg-type]
                            OrderLink.source_id == source_id,  # type: ignore[arg-type]
                        ),
                    )
                )
            ).one()
            saga, link = row[0], row[1]
            if dry_run is None:
                run = await session.get(OrderRun, run_id)
                dry_run = bool(run and run.dry_run)
                if run is not None:
                    self._remember_run(run.run_id, dry_run)
            session.expunge_all()  # keep them loaded past the read's rollback
        if saga is not None:
            return  # a redelivery: this order's saga already took this step
        linked = link.target_number if link and link.state == LinkState.synced else None
        if link is not None and link.state == LinkState.pending and not _stale(link):
            if link.correlation_id != message.correlation_id:
                uow.publish(
                    message.follow_up(
                        OrderSkipped,
                        entity=message.entity,
                        reason="The order is already being synced by an earlier run.",
                    )
                )
                return
        mapped = read_mapped(message.target, message.target_kind, message.entity.key)
        found = None
        if not linked and not dry_run:
            target = await self.ports.target(tenant)
            found = await _find(target, mapped)
        decision = rules.on_order_mapped(
            saga_state=None, linked_number=linked, found_number=found, dry_run=dry_run
        )
        if decision.action is Action.dry_run:
            # Nothing is written to AccountView, but the run still accounts for every order.
            uow.publish(message.follow_up(OrderSkipped, entity=message.entity, reason=DRY_RUN))
            return
        if decision.action is Action.skip:
            uow.add(
                self._link(link, message, state=LinkState.synced, number=decision.target_number)
            )
            uow.publish(
                message.follow_up(
                    OrderSkipped,
                    entity=message.entity.model_copy(update={"target_id": decision.target_number}),
                    reason=decision.reason,
                )
            )
            return
        config = OrdersConfig.from_json(await self.ports.settings(tenant))
        saga = OrderSaga(
            correlation_id=message.correlation_id,
            tenant_id=tenant,
            source_id=source_id,
            run_id=message.run_id,
            state=SagaState.awaiting_customer.value,
            target_kind=message.target_kind,
            mapped={
                "target": message.target,
                "skus": message.skus,
                "key": message.entity.key,
                "entity": message.entity.model_dump(mode="json"),
            },
        )
        link = self._link(link, message, state=LinkState.pending)
        uow.add(saga, link)
        if config.default_debtor:
            # All orders on one debtor: nothing to ensure. Answer ourselves, so creating the
            # order takes the one guarded path (``on_customer_ensured``) like every order.
            uow.publish(
                message.follow_up(
                    CustomerEnsured,
                    entity=EntityRef(
                        type=EntityType.customer,
                        source_id=config.default_debtor,
                        target_id=config.default_debtor,
                    ),
                    debtor_number=config.default_debtor,
                    outcome=UpsertOutcome.unchanged,
                )
            )
            return
        uow.publish(
            message.follow_up(
                EnsureCustomer,
                entity=message.entity,
                customer=message.customer,
                source={"order_number": message.entity.key},
            )
        )

    # --- CustomerEnsured / CustomerFailed ---------------------------------------------------

    async def on_customer_ensured(self, message: CustomerEnsured, uow: UnitOfWork) -> None:
        loaded = await self._waiting(message, uow)
        if loaded is None:
            return
        saga, link = loaded
        stored = saga.mapped
        mapped = read_mapped(stored["target"], saga.target_kind, stored.get("key"))
        claim = CreateClaim(uow.database, saga.correlation_id, self.create_lease)
        attempt = await claim.take()
        try:
            async with kept_alive(claim.renew, self.create_lease, what="order create claim"):
                await self._create(
                    uow,
                    saga,
                    link,
                    mapped,
                    message,
                    message.debtor_number,
                    recheck=attempt > 1,
                    still_ours=claim.renew,
                )
        except BaseException:
            await claim.release()
            raise
        saga.claimed_by, saga.lease_until = None, None

    async def on_customer_failed(self, message: CustomerFailed, uow: UnitOfWork) -> None:
        loaded = await self._waiting(message, uow)
        if loaded is None:
            return
        saga, link = loaded
        self._fail(
            uow,
            saga,
            link,
            message,
            reason_code=message.reason_code,
            reason=f"The customer could not be ensured: {message.reason}",
            step="ensure_customer",
            details=message.details,
        )

    async def _waiting(
        self, message: RecordEvent, uow: UnitOfWork
    ) -> tuple[OrderSaga, OrderLink] | None:
        async with uow.read() as session:
            # The saga and its order's link in one statement (an outer join on the link's key).
            row = (
                await session.execute(
                    sa.select(OrderSaga, OrderLink)
                    .outerjoin(
                        OrderLink,
                        sa.and_(
                            OrderLink.tenant_id == OrderSaga.tenant_id,  # type: ignore[arg-type]
                            OrderLink.source_id == OrderSaga.source_id,  # type: ignore[arg-type]
                        ),
                    )
                    .where(OrderSaga.correlation_id == message.correlation_id)  # type: ignore[arg-type]
                )
            ).first()
            saga, link = (row[0], row[1]) if row is not None else (None, None)
            session.expunge_all()  # keep them loaded past the read's rollback
        state = SagaState(saga.state) if saga is not None else None
        if rules.on_customer_answer(saga_state=state).action is Action.ignore or saga is None:
            return None
        if link is None:  # cannot happen unless someone deleted it; recreate the claim
            link = OrderLink(
                tenant_id=saga.tenant_id, source_id=saga.source_id, state=LinkState.pending
            )
        elif link.correlation_id != saga.correlation_id:
            # A later run took the order over from this stale saga (its answer came far too
            # late, e.g. replayed from the dead letters): that run owns the order now.
            saga.state, saga.updated_at = SagaState.failed.value, utcnow()
            uow.add(saga)
            log.info("saga %s superseded by %s", saga.correlation_id, link.correlation_id)
            return None
        return saga, link

    # --- creating ---------------------------------------------------------------------------

    async def _create(
        self,
        uow: UnitOfWork,
        saga: OrderSaga,
        link: OrderLink,
        mapped: MappedOrder,
        message: RecordEvent,
        debtor: str,
        *,
        recheck: bool,
        still_ours: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        tenant = saga.tenant_id
        target = await self.ports.target(tenant)
        saga.debtor_number = debtor
        # The existence check ran when the order was mapped, and the pending link keeps other
        # runs away since. Only an earlier attempt at this step (crashed or failed after its
        # POST, maybe) can have created the order: then look again before creating.
        number = await _find(target, mapped) if recheck else None
        if number is None:
            skus = list(saga.mapped.get("skus") or [])
            found = await self.articles.existing(tenant, skus, target)
            missing = rules.missing_skus(skus, found)
            if missing:
                self._fail(
                    uow,
                    saga,
                    link,
                    message,
                    reason_code="missing_products",
                    reason=rules.missing_products_reason(missing),
                    step="check_products",
                    details={"missing_skus": missing},
                )
                return
            # Last look at the claim before writing to AccountView: an owner that stalled
            # past its lease may have been taken over, and the new owner checks for the
            # order and creates it; sending ours as well would make two.
            if still_ours is not None and not await still_ours():
                raise SagaBusy()
            try:
                delivery_code = await _ensure_delivery_address(target, mapped, debtor)
                number = await target.create_order(
                    target_kind=mapped.target_kind,
                    header=mapped.with_debtor(debtor, delivery_code),
                    lines=mapped.lines,
                    book_date=mapped.book_date,
                )
            except PermanentError as exc:
                self._fail(
                    uow,
                    saga,
                    link,
                    message,
                    reason_code=exc.reason_code,
                    reason=f"AccountView refused the order: {exc.reason}",
                    step="create_order",
                    details={k: v for k, v in exc.context.items() if _plain(v)},
                )
                return
        saga.state = SagaState.synced.value
        saga.updated_at = utcnow()
        link.state, link.target_number, link.debtor_number = LinkState.synced, number, debtor
        link.target_kind, link.reason, link.updated_at = mapped.target_kind, None, utcnow()
        uow.add(saga, link)
        uow.publish(
            message.follow_up(
                OrderSynced,
                entity=_order_entity(saga).model_copy(update={"target_id": number}),
                target={
                    "kind": mapped.target_kind,
                    "number": number,
                    "header": mapped.header,
                    "lines": mapped.lines,
                },
                debtor_number=debtor,
            )
        )

    def _fail(
        self,
        uow: UnitOfWork,
        saga: OrderSaga,
        link: OrderLink,
        message: RecordEvent,
        *,
        reason_code: str,
        reason: str,
        step: str,
        details: dict[str, object],
    ) -> None:
        saga.state = SagaState.failed.value
        saga.updated_at = utcnow()
        link.state, link.reason, link.updated_at = LinkState.failed, reason[:2000], utcnow()
        uow.add(saga, link)
        uow.publish(
            message.follow_up(
                OrderFailed,
                entity=_order_entity(saga),
                reason_code=reason_code,
                reason=reason,
                step=step,
                details=details,
            )
        )

    @staticmethod
    def _link(
        link: OrderLink | None, message: OrderMapped, *, state: str, number: str | None = None
    ) -> OrderLink:
        if link is None:
            link = OrderLink(
                tenant_id=message.tenant_id, source_id=message.entity.source_id, state=state
            )
        link.state = state
        link.order_number = message.entity.key
        link.correlation_id = message.correlation_id
        link.target_kind = message.target_kind
        if number is not None:
            link.target_number = number
        link.updated_at = utcnow()
        return link


class SagaBusy(TransientError):
    """Retried after a full lease (unscaled: the bus applies its time scale), so that a
    claim left by an attempt whose commit failed has lapsed by then."""

    def __init__(self) -> None:
        super().__init__(
            "Another delivery is creating this order right now; retrying.",
            reason_code="order_being_created",
            retry_after=CREATE_LEASE.total_seconds() + 1.0,
        )


class CreateClaim:
    """Only one delivery at a time may create a saga's order.

    Two deliveries of the same ``CustomerEnsured`` can run at once (a broker redelivers while
    the first consumer is still busy). Both would pass the existence check before either
    created the order, so the saga row is claimed first, in its own short committed
    transaction: a compare-and-set on (waiting, unclaimed or lease lapsed). The loser retries
    later and then finds the saga finished. One owner per attempt, so a duplicate of the same
    message waits too. The owner renews the lease while AccountView works (``kept_alive``), so
    a slow create is never taken over; a crashed attempt's claim (or one whose commit failed
    after the handler returned) lapses with its lease, and the next attempt's existence check
    finds whatever it created.
    """

    def __init__(
        self, database: Database, correlation_id: UUID, lease: timedelta = CREATE_LEASE
    ) -> None:
        self.database = database
        self.correlation_id = correlation_id
        self.lease = lease
        self.owner = uuid4().hex

    async def take(self) -> int:
        """Claim the saga; returns which attempt at creating its order this is (1 = first)."""
        table = OrderSaga.__table__  # type: ignore[attr-defined]
        now = utcnow()
        async with self.database.session() as session:
            result = await session.execute(
                sa.update(table)
                .where(
                    table.c.correlation_id == self.correlation_id,
                    table.c.state == SagaState.awaiting_customer.value,
                    sa.or_(table.c.claimed_by.is_(None), table.c.lease_until < now),
                )
                .values(
                    claimed_by=self.owner,
                    lease_until=now + self.lease,
                    create_attempts=table.c.create_attempts + 1,
                )
                .returning(table.c.create_attempts)
            )
            attempt = result.scalar_one_or_none()
            await session.commit()
        if attempt is None:
            raise SagaBusy()
        return int(attempt)

    async def renew(self) -> bool:
        """Push the lease out while the create is still running; False if no longer ours."""
        table = OrderSaga.__table__  # type: ignore[attr-defined]
        async with self.database.session() as session:
            result = await session.execute(
                sa.update(table)
                .where(
                    table.c.correlation_id == self.correlation_id, table.c.claimed_by == self.owner
                )
                .values(lease_until=utcnow() + self.lease)
            )
            await session.commit()
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def release(self) -> None:
        table = OrderSaga.__table__  # type: ignore[attr-defined]
        async with self.database.session() as session:
            await session.execute(
                sa.update(table)
                .where(
                    table.c.correlation_id == self.correlation_id, table.c.claimed_by == self.owner
                )
                .values(claimed_by=None, lease_until=None)
            )
            await session.commit()


def _order_entity(saga: OrderSaga) -> EntityRef:
    stored = saga.mapped.get("entity")
    if stored:
        return EntityRef.model_validate(stored)
    return EntityRef(type=EntityType.order, source_id=saga.source_id, key=saga.mapped.get("key"))


def _stale(link: OrderLink) -> bool:
    stamp = link.updated_at
    if stamp.tzinfo is None:  # SQLite hands back naive UTC
        stamp = stamp.replace(tzinfo=utcnow().tzinfo)
    return utcnow() - stamp > STALE_PENDING


def _plain(value: object) -> bool:
    return isinstance(value, str | int | float | bool | type(None) | list | dict)


async def _find(target: OrderTarget, mapped: MappedOrder) -> str | None:
    if not mapped.number_value:
        raise PermanentError(
            "The mapped order has no eAccounting order number, so its existence cannot be checked.",
            reason_code="missing_order_number",
        )
    return await target.find_order(
        target_kind=mapped.target_kind, field=mapped.number_field, value=mapped.number_value
    )


async def _ensure_delivery_address(
    target: OrderTarget, mapped: MappedOrder, debtor: str
) -> str | None:
    """The ``REC_ID`` of the debtor's delivery address at this address, created if new."""
    if mapped.delivery is None or mapped.target_kind != "sales_order":
        return None
    existing = await target.delivery_addresses(debtor)
    code = find_address(existing, mapped.delivery)
    if code is None:
        code = await target.create_delivery_address(mapped.delivery.to_row(debtor))
    return code


def correlation_of(message: RecordEvent) -> UUID:
    return message.correlation_id
