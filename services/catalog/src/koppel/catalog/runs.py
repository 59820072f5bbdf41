"""``FlowRunRequested`` for products and stock: read AccountView, decide, stage the events.

Products: read the articles changed since the cursor (``CNG_DATE``), or all of them in a
full sweep (the first run, ``full_sweep`` asked, or ``full_sweep_interval`` passed). Each
article is either left out (blocked, or a tenant filter: ``ProductFilteredOut`` naming it),
deactivated in eAccounting (blocked or, in a full sweep, gone from AccountView while linked:
``ProductDeactivated``) or handed to the mapper (``ProductFetched``). The events, the cursor
and the run's ``FlowRunFetched`` commit in one transaction, so the cursor moves only once
every article up to it is in the outbox. A failed read publishes ``FlowRunFailed`` only.

Stock: a full read every run (AccountView does not date-stamp stock movements), the tenant's
formula per article that syncs and is linked, and ``StockLevelChanged`` only where the value
differs from the last one pushed (``stock_snapshots``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from koppel.catalog import domain, formulas
from koppel.catalog.adapters.ports import JSON, ArticleTarget, CatalogPorts
from koppel.catalog.models import CatalogCursor, ProductLink, StockSnapshot
from koppel.catalog.tenant_settings import ProductsConfig, StockConfig
from koppel.common.bus.handling import OUTAGE_REASONS
from koppel.common.errors import KoppelError, PermanentError, TransientError
from koppel.common.events import (
    EntityRef,
    EntityType,
    FlowRunFailed,
    FlowRunFetched,
    FlowRunRequested,
    ProductDeactivated,
    ProductFailed,
    ProductFetched,
    ProductFilteredOut,
    StockFailed,
    StockLevelChanged,
)
from koppel.common.messages import Flow, Message, utcnow
from koppel.common.uow import UnitOfWork

log = logging.getLogger(__name__)

BLOCKED = (
    "The article is blocked in AccountView; eAccounting cannot delete it, so it is made inactive."
)
GONE = (
    "The article is no longer in AccountView; eAccounting cannot delete it, so it is made inactive."
)


def _entity(code: str, target_id: str | None = None) -> EntityRef:
    return EntityRef(type=EntityType.product, source_id=code, key=code, target_id=target_id)


def _record(request: FlowRunRequested, kind: type[Message], **fields: object) -> Message:
    """A per-record event of this run: its own correlation id, caused by the request."""
    return kind(
        tenant_id=request.tenant_id,
        flow=request.flow,
        run_id=request.run_id,
        causation_id=request.message_id,
        traceparent=request.traceparent,
        **fields,
    )


@dataclass
class _Outcome:
    events: list[Message] = field(default_factory=list)
    fetched: int = 0
    filtered_out: int = 0
    # (link, why): blocked in AccountView, or gone from it (full sweep).
    deactivated: list[tuple[ProductLink, str]] = field(default_factory=list)


class CatalogRuns:
    def __init__(self, ports: CatalogPorts) -> None:
        self.ports = ports

    async def on_run_requested(self, message: FlowRunRequested, uow: UnitOfWork) -> None:
        if message.flow is Flow.products:
            await self._guarded(message, uow, self._products, "articles")
        elif message.flow is Flow.stock:
            await self._guarded(message, uow, self._stock, "stock levels")

    async def _guarded(
        self,
        message: FlowRunRequested,
        uow: UnitOfWork,
        run: Callable[[FlowRunRequested, UnitOfWork], Awaitable[None]],
        what: str,
    ) -> None:
        try:
            await run(message, uow)
        except (KoppelError, ValueError) as exc:
            if isinstance(exc, TransientError) and exc.reason_code in OUTAGE_REASONS:
                # Our own gateway is down, not AccountView: the bus waits that out on its
                # outage budget (and a run given up there is failed by the gateway).
                raise
            # Transient faults of the reads were already retried by the connector; the run
            # fails visibly now instead of being retried silently. The cursor stays.
            await uow.rollback()
            code = exc.reason_code if isinstance(exc, KoppelError) else "bad_settings"
            log.warning("%s run %s failed: %s", message.flow, message.run_id, exc)
            uow.publish(
                message.follow_up(
                    FlowRunFailed,
                    reason_code=code,
                    reason=(
                        f"Reading {what} from AccountView failed; nothing was skipped, the next "
                        f"run reads them again. ({exc})"
                    ),
                )
            )

    # --- products ---------------------------------------------------------------------------

    async def _products(self, message: FlowRunRequested, uow: UnitOfWork) -> None:
        tenant = message.tenant_id
        config = ProductsConfig.from_json(await self.ports.settings(tenant, "products"))
        async with uow.read() as session:
            stored = await session.get(CatalogCursor, (tenant, Flow.products.value))
            links = {
                link.sku: link
                for link in (
                    await session.execute(
                        select(ProductLink).where(ProductLink.tenant_id == tenant)  # type: ignore[arg-type]
                    )
                ).scalars()
            }
            session.expunge_all()
        cursor = domain.Cursor.load(stored.value if stored else None)
        now = utcnow()
        sweep = (
            message.full_sweep
            or stored is None
            or stored.value is None
            or (
                config.full_sweep_interval is not None
                and (
                    stored.last_full_sweep_at is None
                    or _aware(stored.last_full_sweep_at)
                    + timedelta(seconds=config.full_sweep_interval)
                    <= now
                )
            )
        )
        source = await self.ports.source(tenant)
        target = await self.ports.target(tenant)
        target.forget_index()  # a new run: eAccounting may have changed meanwhile
        if message.record_id:
            one = await source.article(message.record_id)
            rows, since = ([one] if one else []), None
        else:
            since = (
                None
                if sweep
                else (message.since.replace(tzinfo=None) if message.since else cursor.at)
            )
            rows = await source.articles(changed_since=since)

        outcome = _Outcome()
        new_cursor = cursor if since is not None or not sweep else domain.Cursor()
        seen_codes: set[str] = set()
        for row in rows:
            code = str(row.get("ART_CODE") or "").strip()
            if not code:
                continue
            seen_codes.add(code)
            stamp = domain.parse_stamp(row.get("CNG_DATE"))
            entry = domain.Cursor.entry(code, row.get("CNG_NR"))
            if since is not None and not message.since and cursor.seen(stamp, entry):
                continue
            new_cursor = new_cursor.advance(stamp, entry)
            await self._decide(message, row, code, config, links, outcome)
        if sweep and not message.record_id:
            for sku, link in links.items():
                if link.active and link.eaccounting_article_id and sku not in seen_codes:
                    outcome.deactivated.append((link, GONE))
        if not message.dry_run:
            await self._deactivate(message, target, outcome)
            uow.add(
                *{link.sku: link for link, _ in outcome.deactivated if not link.active}.values()
            )
        # A dry run reports what it would sync (counts, filtered-out articles) but hands
        # nothing to the mapper, so nothing can reach eAccounting.
        published = [
            e for e in outcome.events if not (message.dry_run and isinstance(e, ProductFetched))
        ]
        uow.publish(*published)
        moves = not message.dry_run and not message.record_id
        if moves:
            row_ = stored or CatalogCursor(tenant_id=tenant, flow=Flow.products.value)
            row_.value = new_cursor.dump()
            row_.updated_at = now
            if sweep:
                row_.last_full_sweep_at = now
            uow.add(row_)
        uow.publish(
            message.follow_up(
                FlowRunFetched,
                fetched=outcome.fetched,
                filtered_out=outcome.filtered_out,
                cursor=new_cursor.dump() if moves else None,
            )
        )

    async def _decide(
        self,
        request: FlowRunRequested,
        row: JSON,
        code: str,
        config: ProductsConfig,
        links: dict[str, ProductLink],
        outcome: _Outcome,
    ) -> None:
        link = links.get(code)
        if domain.is_blocked(row):
            if link is not None and link.active and link.eaccounting_article_id:
                outcome.deactivated.append((link, BLOCKED))
                return
            outcome.filtered_out += 1
            outcome.events.append(
                _record(
                    request,
                    ProductFilteredOut,
                    entity=_entity(code),
                    filter_name="blocked",
                    reason="The article is blocked in AccountView (REC_BLK), so it is not synced.",
                )
            )
            return
        verdict = domain.evaluate_filters(row, config)
        if not verdict.keep:
            outcome.filtered_out += 1
            outcome.events.append(
                _record(
                    request,
                    ProductFilteredOut,
                    entity=_entity(code),
                    filter_name=verdict.filter_name,
                    reason=verdict.reason,
                )
            )
            return
        outcome.fetched += 1
        outcome.events.append(_record(request, ProductFetched, entity=_entity(code), source=row))

    async def _deactivate(
        self, request: FlowRunRequested, target: ArticleTarget, outcome: _Outcome
    ) -> None:
        """eAccounting cannot delete articles: set ``IsActive=false``. Idempotent (an article
        that is inactive already gets no PUT), so a retried run repeats it harmlessly."""
        for link, why in outcome.deactivated:
            article_id = str(link.eaccounting_article_id)
            entity = _entity(link.sku, article_id)
            try:
                current = await target.get(article_id)
                if current is not None and current.get("IsActive", True):
                    await target.replace(article_id, {**current, "IsActive": False})
            except PermanentError as exc:
                outcome.events.append(
                    _record(
                        request,
                        ProductFailed,
                        entity=entity,
                        reason_code=exc.reason_code,
                        reason=f"Deactivating the article in eAccounting failed: {exc}",
                        step="deactivate",
                    )
                )
                continue
            link.active = False
            link.content_hash = None  # a later reactivation must write again
            link.updated_at = utcnow()
            outcome.events.append(
                _record(
                    request,
                    ProductDeactivated,
                    entity=entity,
                    reason=why,
                )
            )

    # --- stock ------------------------------------------------------------------------------

    async def _stock(self, message: FlowRunRequested, uow: UnitOfWork) -> None:
        tenant = message.tenant_id
        stock = StockConfig.from_json(await self.ports.settings(tenant, "stock"))
        products = ProductsConfig.from_json(await self.ports.settings(tenant, "products"))
        formulas.compute({}, stock)  # an unknown formula fails the run, not every article
        async with uow.read() as session:
            linked = {
                link.sku
                for link in (
                    await session.execute(
                        select(ProductLink).where(
                            ProductLink.tenant_id == tenant,  # type: ignore[arg-type]
                            ProductLink.active == True,  # type: ignore[arg-type]  # noqa: E712
                        )
                    )
                ).scalars()
                if link.eaccounting_article_id
            }
            pushed = {
                s.sku: s.quantity
                for s in (
                    await session.execute(
                        select(StockSnapshot).where(StockSnapshot.tenant_id == tenant)  # type: ignore[arg-type]
                    )
                ).scalars()
            }
        events: list[Message] = []
        if stock.manage_stock:
            source = await self.ports.source(tenant)
            rows = (
                [r for r in [await source.article(message.record_id)] if r]
                if message.record_id
                else await source.articles(changed_since=None)
            )
            for row in rows:
                code = str(row.get("ART_CODE") or "").strip()
                if code not in linked or domain.is_blocked(row):
                    continue
                if not domain.evaluate_filters(row, products).keep:
                    continue
                try:
                    quantity = formulas.compute(row, stock)
                except formulas.FormulaError as exc:
                    events.append(
                        _record(
                            message,
                            StockFailed,
                            entity=EntityRef(type=EntityType.stock, source_id=code, key=code),
                            reason_code="bad_quantity",
                            reason=f"The stock of {code} cannot be computed: {exc}",
                            step="formula",
                            source=row,
                        )
                    )
                    continue
                previous = pushed.get(code)
                if previous is not None and abs(previous - quantity) < 1e-9:
                    continue
                events.append(
                    _record(
                        message,
                        StockLevelChanged,
                        entity=EntityRef(type=EntityType.stock, source_id=code, key=code),
                        quantity=quantity,
                        previous=previous,
                        formula=stock.formula,
                        source=formulas.source_of(row, stock),
                    )
                )
        if not message.dry_run:
            uow.publish(*events)
        uow.publish(message.follow_up(FlowRunFetched, fetched=len(events)))


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)
