"""``StockLevelChanged`` → the quantity pushed to eAccounting → ``StockUpdated``.

eAccounting takes ``StockBalance`` on an article only while the company's stock module is
off; with it on, the balance is read-only and no API adjusts it. That is not a passing fault,
so it is answered with ``StockFailed`` (reason ``stock_module_active``) at once instead of a
retry loop, and remembered per tenant for ``stock_module_memory`` seconds so a run with many
changes does not ask eAccounting once per article. The README says what a tenant can do.

The snapshot (last value pushed) is written with the ``StockUpdated`` outbox row.
"""

from __future__ import annotations

import time

from koppel.catalog.adapters.ports import CatalogPorts
from koppel.catalog.models import ProductLink, StockSnapshot
from koppel.catalog.tenant_settings import StockConfig
from koppel.common.errors import PermanentError
from koppel.common.events import StockFailed, StockLevelChanged, StockUpdated
from koppel.common.messages import utcnow
from koppel.common.uow import UnitOfWork
from koppel.connectors.common.errors import PermanentConnectorError

STEP = "stock"
STOCK_MODULE_ACTIVE = "stock_module_active"
STOCK_MODULE_REASON = (
    "eAccounting's stock module is switched on for this company, so eAccounting keeps the "
    "stock balance itself and does not let an integration set it. Switch the stock module off, "
    "or turn off 'manage stock' for the stock flow."
)


def _stock_module_refusal(exc: PermanentError) -> bool:
    if not isinstance(exc, PermanentConnectorError):
        return False
    fields = {e.field for e in exc.field_errors if e.field}
    return exc.ctx.api_error_code == "4002" or "StockBalance" in fields


class StockPushes:
    def __init__(self, ports: CatalogPorts, *, stock_module_memory: float = 300.0) -> None:
        self.ports = ports
        self.memory = stock_module_memory
        self._module_on: dict[str, float] = {}

    def forget(self, tenant_id: str | None = None) -> None:
        if tenant_id is None:
            self._module_on.clear()
        else:
            self._module_on.pop(tenant_id, None)

    async def on_stock_level_changed(self, message: StockLevelChanged, uow: UnitOfWork) -> None:
        tenant, sku = message.tenant_id, message.entity.source_id
        stock = StockConfig.from_json(await self.ports.settings(tenant, "stock"))
        async with uow.read() as session:
            link = await session.get(ProductLink, (tenant, sku))
            snapshot = await session.get(StockSnapshot, (tenant, sku))
            session.expunge_all()
        if link is None or not link.eaccounting_article_id:
            self._fail(
                message,
                uow,
                "article_not_synced",
                "The article is not in eAccounting yet; the products flow creates it first.",
            )
            return
        if snapshot is not None and abs(snapshot.quantity - message.quantity) < 1e-9:
            self._updated(message, uow, link.eaccounting_article_id)  # pushed by an earlier run
            return
        if time.monotonic() < self._module_on.get(tenant, float("-inf")):
            self._fail(message, uow, STOCK_MODULE_ACTIVE, STOCK_MODULE_REASON)
            return
        target = await self.ports.target(tenant)
        article_id = link.eaccounting_article_id
        try:
            current = await target.get(article_id)
            if current is None:
                self._fail(
                    message, uow, "article_missing", "The linked article is gone from eAccounting."
                )
                return
            if current.get("ShowStockInformation"):
                raise _ModuleOn
            body = {**current, "StockBalance": message.quantity, "IsStock": stock.manage_stock}
            await target.replace(article_id, body)
        except _ModuleOn:
            self._module_on[tenant] = time.monotonic() + self.memory
            self._fail(message, uow, STOCK_MODULE_ACTIVE, STOCK_MODULE_REASON)
            return
        except PermanentError as exc:
            if _stock_module_refusal(exc):
                self._module_on[tenant] = time.monotonic() + self.memory
                self._fail(message, uow, STOCK_MODULE_ACTIVE, STOCK_MODULE_REASON)
            else:
                self._fail(
                    message, uow, exc.reason_code, f"eAccounting refused the stock level: {exc}"
                )
            return
        snapshot = snapshot or StockSnapshot(tenant_id=tenant, sku=sku, quantity=0.0, formula="")
        snapshot.quantity = message.quantity
        snapshot.formula = message.formula
        snapshot.updated_at = utcnow()
        uow.add(snapshot)
        self._updated(message, uow, article_id)

    @staticmethod
    def _updated(message: StockLevelChanged, uow: UnitOfWork, article_id: str) -> None:
        entity = message.entity.model_copy(update={"target_id": article_id})
        uow.publish(message.follow_up(StockUpdated, entity=entity, quantity=message.quantity))

    @staticmethod
    def _fail(message: StockLevelChanged, uow: UnitOfWork, code: str, reason: str) -> None:
        uow.publish(
            message.follow_up(
                StockFailed,
                entity=message.entity,
                reason_code=code,
                reason=reason,
                step=STEP,
                source=message.source,
            )
        )


class _ModuleOn(Exception):
    """The article shows eAccounting's own stock information: the module is on."""
