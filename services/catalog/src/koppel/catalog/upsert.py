"""``ProductMapped`` → create or update the eAccounting article → ``ProductUpserted``.

1. The mapped article minus what others own (``StockBalance``: the stock flow; read-only
   fields), with ``IsStock`` from the tenant's "manage stock" setting.
2. What an update may write: everything but the protected fields ("update product
   information" off protects the create-only fields; ``Number`` is never rewritten). Its hash
   equal to the link's hash means nothing changed: ``unchanged``, no API call at all.
3. Otherwise find the article (link → id; else by ``Number``, then EAN when configured), and
   PUT the current article with the payload laid over it (a full replace), or POST it whole.
4. The link (id, EAN, hash) is written with the ``ProductUpserted`` outbox row. A redelivery
   after a crash finds the article again by number (or eAccounting refuses the duplicate
   number and it is looked up), so the article is never created twice.

Permanent refusals (validation, a service coding with IsStock ...) become ``ProductFailed``;
transient ones propagate so the bus retries the message.
"""

from __future__ import annotations

from koppel.catalog import domain
from koppel.catalog.adapters.ports import JSON, CatalogPorts
from koppel.catalog.models import ProductLink
from koppel.catalog.tenant_settings import ProductsConfig, StockConfig
from koppel.common.errors import PermanentError
from koppel.common.events import ProductFailed, ProductMapped, ProductUpserted, UpsertOutcome
from koppel.common.messages import utcnow
from koppel.common.uow import UnitOfWork

STEP = "upsert"


class ProductUpserts:
    def __init__(self, ports: CatalogPorts) -> None:
        self.ports = ports

    async def on_product_mapped(self, message: ProductMapped, uow: UnitOfWork) -> None:
        tenant = message.tenant_id
        sku = str(message.target.get("Number") or message.entity.key or "").strip()
        if not sku:
            self._fail(message, uow, "no_sku", "The mapped article has no article number (SKU).")
            return
        products = ProductsConfig.from_json(await self.ports.settings(tenant, "products"))
        stock = StockConfig.from_json(await self.ports.settings(tenant, "stock"))
        desired = domain.desired_article(message.target, manage_stock=stock.manage_stock)
        payload = domain.update_payload(desired, products)
        digest = domain.content_hash(payload)
        ean = domain.ean_of(desired)

        async with uow.read() as session:
            link = await session.get(ProductLink, (tenant, sku))
            session.expunge_all()
        if (
            link is not None
            and link.eaccounting_article_id
            and link.content_hash == digest
            and link.active == bool(desired.get("IsActive", True))
        ):
            self._done(message, uow, UpsertOutcome.unchanged, link.eaccounting_article_id, payload)
            return

        try:
            outcome, article_id, written = await self._write(
                tenant, link, sku, ean, desired, payload, products
            )
        except PermanentError as exc:
            self._fail(message, uow, exc.reason_code, f"eAccounting refused the article: {exc}")
            return
        link = link or ProductLink(tenant_id=tenant, sku=sku)
        link.eaccounting_article_id = article_id
        link.ean = ean
        link.content_hash = digest
        link.active = bool(desired.get("IsActive", True))
        link.updated_at = utcnow()
        # Re-attach the row read before the API calls (or add the new one): no read on the
        # write connection, so the write transaction is only INSERT/UPDATE and COMMIT.
        uow.add(link)
        self._done(message, uow, outcome, article_id, written)

    async def _write(
        self,
        tenant: str,
        link: ProductLink | None,
        sku: str,
        ean: str | None,
        desired: JSON,
        payload: JSON,
        config: ProductsConfig,
    ) -> tuple[UpsertOutcome, str, JSON]:
        """Returns the outcome, the article id and what was written (for the activity log)."""
        target = await self.ports.target(tenant)
        current: JSON | None = None
        if link is not None and link.eaccounting_article_id:
            current = await target.get(link.eaccounting_article_id)
        if current is None:
            by_ean = ean if config.match_by == "sku_then_ean" else None
            current = await target.find(number=sku, ean=by_ean)
        if current is None:
            created, fresh = await target.create(desired)
            if fresh:
                return UpsertOutcome.created, str(created["Id"]), desired
            current = created  # it existed after all (a lost answer, another replica)
        article_id = str(current["Id"])
        if not domain.differs(current, payload):
            return UpsertOutcome.unchanged, article_id, payload
        await target.replace(article_id, domain.merged_for_put(current, payload))
        return UpsertOutcome.updated, article_id, payload

    @staticmethod
    def _done(
        message: ProductMapped,
        uow: UnitOfWork,
        outcome: UpsertOutcome,
        article_id: str,
        written: JSON,
    ) -> None:
        entity = message.entity.model_copy(update={"target_id": article_id})
        uow.publish(
            message.follow_up(ProductUpserted, entity=entity, outcome=outcome, target=written)
        )

    @staticmethod
    def _fail(message: ProductMapped, uow: UnitOfWork, code: str, reason: str) -> None:
        uow.publish(
            message.follow_up(
                ProductFailed,
                entity=message.entity,
                reason_code=code,
                reason=reason,
                step=STEP,
                source=message.target,
            )
        )
