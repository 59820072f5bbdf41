"""Flow settings (validated, 422 naming the field), manual runs, run tracking from events."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from koppel.common import events as ev
from koppel.common.messages import Flow, Message
from koppel.gateway.service import runs

from .conftest import Harness

ORDERS = {
    "statuses": ["shipped", "invoiced"],
    "only_paid": True,
    "target": "sales_invoice",
    "default_debtor": "10000",
    "shipping_article": "VERZEND",
    "payment_fee_article": "BETAAL",
    "discount_mode": "order",
    "discount_article": "KORTING",
    "do_not_import_before": "2025-01-01",
    "batch_size": 250,
    "enrichment": {
        "store_id": "shop-1",
        "default_country": "NL",
        "header_fields": {"REF_TXT": "web"},
    },
}
PRODUCTS = {
    "update_product_information": True,
    "create_only_fields": ["Name"],
    "filters": [
        {"field": "AG_CODE", "operator": "in", "value": ["WEB", "SHOP"]},
        {"field": "REC_BLK", "operator": "==", "value": False},
    ],
    "match_by": "sku_then_ean",
    "full_sweep_interval": 86400,
    "price_includes_vat": True,
}
STOCK = {
    "formula": "available",
    "field_overrides": {"on_hand": "SUPPL_STCK"},
    "manage_stock": False,
}
CUSTOMERS = {"update_existing": False, "default_debtor": "99999", "match_by": "email"}


async def tenant(h: Harness) -> tuple[str, dict[str, str]]:
    created = await h.create_tenant()
    return created["tenant"]["id"], h.auth(created["api_key"])


async def enable(
    h: Harness,
    key: dict[str, str],
    flow: str,
    settings: dict[str, Any] | None = None,
    **schedule: Any,
) -> dict[str, Any]:
    body = {"enabled": True, "schedule": schedule or None, "settings": settings or {}}
    response = await h.client.put(f"/v1/flows/{flow}", json=body, headers=key)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


class TestFlowSettings:
    @pytest.mark.parametrize(
        ("flow", "settings"),
        [("orders", ORDERS), ("customers", CUSTOMERS), ("products", PRODUCTS), ("stock", STOCK)],
    )
    async def test_every_setting_round_trips(
        self, h: Harness, flow: str, settings: dict[str, Any]
    ) -> None:
        _, key = await tenant(h)
        put = await enable(h, key, flow, settings, interval_seconds=300)
        got = (await h.client.get(f"/v1/flows/{flow}", headers=key)).json()
        assert got == put
        for name, value in settings.items():
            assert got["settings"][name] == value
        assert got["enabled"] is True
        assert got["schedule"] == {"interval_seconds": 300, "cron": None}
        assert got["next_run_at"] is not None

    async def test_defaults_when_never_set(self, h: Harness) -> None:
        _, key = await tenant(h)
        flows = (await h.client.get("/v1/flows", headers=key)).json()
        assert [f["flow"] for f in flows] == ["orders", "customers", "products", "stock"]
        by_flow = {f["flow"]: f for f in flows}
        assert by_flow["stock"]["settings"]["formula"] == "available_minus_reservations"
        assert by_flow["orders"]["settings"]["target"] == "sales_order"
        assert all(f["enabled"] is False for f in flows)

    @pytest.mark.parametrize(
        ("flow", "settings", "field"),
        [
            ("orders", {"target": "invoice"}, "settings.target"),
            ("orders", {"statuses": ["paid"]}, "settings.statuses.0"),
            ("orders", {"batch_size": 0}, "settings.batch_size"),
            ("orders", {"do_not_import_before": "yesterday"}, "settings.do_not_import_before"),
            ("orders", {"discount_mode": "order"}, "settings"),
            ("orders", {"enrichment": {"store": "x"}}, "settings.enrichment.store"),
            ("orders", {"colour": "red"}, "settings.colour"),
            ("customers", {"match_by": "name"}, "settings.match_by"),
            ("products", {"match_by": "ean"}, "settings.match_by"),
            (
                "products",
                {"filters": [{"field": "AG_CODE", "operator": "in", "value": "WEB"}]},
                "settings.filters.0",
            ),
            (
                "products",
                {"filters": [{"field": "AG CODE", "operator": "==", "value": 1}]},
                "settings.filters.0.field",
            ),
            (
                "products",
                {"filters": [{"field": "X", "operator": "like", "value": 1}]},
                "settings.filters.0.operator",
            ),
            ("products", {"full_sweep_interval": 5}, "settings.full_sweep_interval"),
            ("stock", {"formula": "magic"}, "settings.formula"),
            ("stock", {"field_overrides": {"colour": "X"}}, "settings.field_overrides.colour"),
        ],
    )
    async def test_invalid_settings_are_422_naming_the_field(
        self, h: Harness, flow: str, settings: dict[str, Any], field: str
    ) -> None:
        _, key = await tenant(h)
        response = await h.client.put(
            f"/v1/flows/{flow}", json={"enabled": True, "settings": settings}, headers=key
        )
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["field"].startswith(field), problem
        assert problem["errors"][0]["loc"][:2] == ["body", "settings"]
        assert (await h.client.get(f"/v1/flows/{flow}", headers=key)).json()["enabled"] is False

    @pytest.mark.parametrize(
        "schedule",
        [
            {"cron": "every day"},
            {"interval_seconds": 5},
            {"interval_seconds": 60, "cron": "* * * * *"},
            {},
        ],
    )
    async def test_invalid_schedule_is_422(self, h: Harness, schedule: dict[str, Any]) -> None:
        _, key = await tenant(h)
        response = await h.client.put(
            "/v1/flows/orders", json={"enabled": True, "schedule": schedule}, headers=key
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"][:2] == ["body", "schedule"]

    async def test_cron_schedule_sets_next_run(self, h: Harness) -> None:
        _, key = await tenant(h)
        flow = await enable(h, key, "stock", cron="*/15 * * * *")
        assert flow["next_run_at"] == "2026-01-05T09:15:00Z"

    async def test_change_publishes_tenant_config_changed(self, h: Harness) -> None:
        tenant_id, key = await tenant(h)
        await enable(h, key, "orders")
        changes = [
            m for m in await h.published("tenant_config_changed") if m["section"] == "flow:orders"
        ]
        assert len(changes) == 1
        assert changes[0]["tenant_id"] == tenant_id

    async def test_internal_settings_document(self, h: Harness) -> None:
        tenant_id, key = await tenant(h)
        await enable(h, key, "orders", ORDERS)
        doc = (
            await h.client.get(f"/internal/tenants/{tenant_id}/settings", headers=h.service)
        ).json()
        assert doc["tenant"]["retention_days"] == 30
        assert doc["flows"]["orders"]["settings"]["target"] == "sales_invoice"
        assert doc["flows"]["stock"]["enabled"] is False
        assert doc["connections"]["eaccounting"]["status"] == "needs_consent"
        assert (await h.client.get(f"/internal/tenants/{tenant_id}/settings")).status_code == 401


class TestManualRuns:
    async def test_run_publishes_flow_run_requested(self, h: Harness) -> None:
        tenant_id, key = await tenant(h)
        await enable(h, key, "orders")
        response = await h.client.post("/v1/flows/orders/runs", headers=key)
        assert response.status_code == 202
        run_id = response.json()["run_id"]
        requested = await h.published("flow_run_requested")
        assert len(requested) == 1
        assert requested[0]["run_id"] == run_id
        assert requested[0]["tenant_id"] == tenant_id
        assert requested[0]["trigger"] == "manual"
        run = (await h.client.get(f"/v1/runs/{run_id}", headers=key)).json()
        assert run["status"] == "running"
        assert run["counts"]["fetched"] is None

    async def test_second_run_while_one_is_going_is_409(self, h: Harness) -> None:
        _, key = await tenant(h)
        await enable(h, key, "orders")
        first = (await h.client.post("/v1/flows/orders/runs", headers=key)).json()["run_id"]
        second = await h.client.post("/v1/flows/orders/runs", headers=key)
        assert second.status_code == 409
        assert second.json()["running_run_id"] == first
        dry = await h.client.post("/v1/flows/orders/runs", params={"dry_run": "true"}, headers=key)
        assert dry.status_code == 202

    @pytest.mark.parametrize(("flow", "overlaps"), [("orders", True), ("products", False)])
    async def test_an_orders_run_that_has_read_its_source_no_longer_blocks_the_next(
        self, h: Harness, flow: str, overlaps: bool
    ) -> None:
        tenant_id, key = await tenant(h)
        await enable(h, key, flow)
        first = (await h.client.post(f"/v1/flows/{flow}/runs", headers=key)).json()["run_id"]
        # Given the first run fetched (its cursor moved) and is still syncing its records
        env = {"tenant_id": tenant_id, "flow": Flow(flow), "run_id": UUID(first)}
        await apply(h, ev.FlowRunFetched(**env, fetched=3))
        # Then a next orders run may start (it reads only what changed since), while flows
        # that write the latest state still wait for the first to finish
        second = await h.client.post(f"/v1/flows/{flow}/runs", headers=key)
        assert second.status_code == (202 if overlaps else 409)
        if overlaps:
            third = await h.client.post(f"/v1/flows/{flow}/runs", headers=key)
            assert third.status_code == 409  # the second has not read its source yet
            assert third.json()["running_run_id"] == second.json()["run_id"]

    async def test_disabled_flow_allows_only_dry_runs(self, h: Harness) -> None:
        _, key = await tenant(h)
        refused = await h.client.post("/v1/flows/stock/runs", headers=key)
        assert refused.status_code == 409
        dry = await h.client.post("/v1/flows/stock/runs?dry_run=true", headers=key)
        assert dry.status_code == 202
        assert (await h.published("flow_run_requested"))[0]["dry_run"] is True

    async def test_list_runs_filters_and_pages(self, h: Harness) -> None:
        _, key = await tenant(h)
        for _ in range(3):
            await h.client.post("/v1/flows/stock/runs?dry_run=true", headers=key)
            h.clock.advance(1)
        await h.client.post("/v1/flows/orders/runs?dry_run=true", headers=key)
        page = (
            await h.client.get("/v1/runs", params={"flow": "stock", "limit": 2}, headers=key)
        ).json()
        assert len(page["items"]) == 2
        assert page["next_cursor"]
        rest = (
            await h.client.get(
                "/v1/runs", params={"flow": "stock", "cursor": page["next_cursor"]}, headers=key
            )
        ).json()
        assert len(rest["items"]) == 1
        assert rest["next_cursor"] is None
        assert (
            len(
                (await h.client.get("/v1/runs", params={"status": "running"}, headers=key)).json()[
                    "items"
                ]
            )
            == 4
        )
        bad = await h.client.get("/v1/runs", params={"status": "done"}, headers=key)
        assert bad.status_code == 422


async def apply(h: Harness, *messages: Message) -> None:
    for message in messages:
        async with h.gw.uow() as uow:
            await runs.apply_event(h.gw, uow, message)
            await uow.commit()


def entity(n: int) -> ev.EntityRef:
    return ev.EntityRef(type=ev.EntityType.order, source_id=str(n))


class TestRunTracking:
    async def _run(self, h: Harness, flow: str = "orders") -> tuple[str, dict[str, str], UUID]:
        tenant_id, key = await tenant(h)
        await enable(h, key, flow)
        run_id = (await h.client.post(f"/v1/flows/{flow}/runs", headers=key)).json()["run_id"]
        return tenant_id, key, UUID(run_id)

    async def test_finishes_when_every_fetched_record_has_an_outcome(self, h: Harness) -> None:
        tenant_id, key, run_id = await self._run(h)
        env = {"tenant_id": tenant_id, "flow": Flow.orders, "run_id": run_id}
        await apply(h, ev.FlowRunFetched(**env, fetched=3))
        await apply(h, ev.OrderSynced(**env, entity=entity(1), target={}, debtor_number="1"))
        await apply(h, ev.OrderSkipped(**env, entity=entity(2), reason="exists"))
        run = (await h.client.get(f"/v1/runs/{run_id}", headers=key)).json()
        assert run["status"] == "running"
        await apply(h, ev.OrderSynced(**env, entity=entity(3), target={}, debtor_number="1"))
        run = (await h.client.get(f"/v1/runs/{run_id}", headers=key)).json()
        assert run["status"] == "succeeded"
        assert run["counts"] == {
            "fetched": 3,
            "synced": 2,
            "skipped": 1,
            "failed": 0,
            "filtered_out": 0,
        }
        assert run["ended_at"] is not None

    async def test_outcomes_before_fetched_and_partial_failure(self, h: Harness) -> None:
        tenant_id, key, run_id = await self._run(h)
        env = {"tenant_id": tenant_id, "flow": Flow.orders, "run_id": run_id}
        failed = ev.OrderFailed(
            **env, entity=entity(2), reason_code="missing_products", reason="x", step="products"
        )
        await apply(
            h, ev.OrderSynced(**env, entity=entity(1), target={}, debtor_number="1"), failed
        )
        # A customer ensured inside the orders flow is a step, not an outcome.
        await apply(
            h,
            ev.CustomerEnsured(
                **env, entity=entity(9), debtor_number="1", outcome=ev.UpsertOutcome.created
            ),
        )
        await apply(h, ev.FlowRunFetched(**env, fetched=2))
        run = (await h.client.get(f"/v1/runs/{run_id}", headers=key)).json()
        assert run["status"] == "partially_failed"
        assert run["counts"]["synced"] == 1
        assert run["counts"]["failed"] == 1

    async def test_all_failed_and_run_failure(self, h: Harness) -> None:
        tenant_id, key, run_id = await self._run(h, "stock")
        env = {"tenant_id": tenant_id, "flow": Flow.stock, "run_id": run_id}
        await apply(h, ev.FlowRunFetched(**env, fetched=1))
        await apply(
            h, ev.StockFailed(**env, entity=entity(1), reason_code="x", reason="y", step="push")
        )
        assert (await h.client.get(f"/v1/runs/{run_id}", headers=key)).json()["status"] == "failed"

        tenant_id2, key2, run2 = await self._run(h, "products")
        env2 = {"tenant_id": tenant_id2, "flow": Flow.products, "run_id": run2}
        await apply(
            h,
            ev.FlowRunFailed(**env2, reason_code="read_failed", reason="AccountView answered 500"),
        )
        run = (await h.client.get(f"/v1/runs/{run2}", headers=key2)).json()
        assert run["status"] == "failed"
        assert run["reason_code"] == "read_failed"

    async def test_empty_fetch_succeeds_and_unchanged_counts_as_skipped(self, h: Harness) -> None:
        tenant_id, key, run_id = await self._run(h, "products")
        env = {"tenant_id": tenant_id, "flow": Flow.products, "run_id": run_id}
        await apply(
            h, ev.ProductUpserted(**env, entity=entity(1), outcome=ev.UpsertOutcome.unchanged)
        )
        await apply(h, ev.FlowRunFetched(**env, fetched=1, filtered_out=4))
        run = (await h.client.get(f"/v1/runs/{run_id}", headers=key)).json()
        assert run["status"] == "succeeded"
        assert run["counts"]["skipped"] == 1
        assert run["counts"]["filtered_out"] == 4

    async def test_events_of_an_unknown_run_create_it(self, h: Harness) -> None:
        tenant_id, key = await tenant(h)
        run_id = UUID(int=7)
        env = {"tenant_id": tenant_id, "flow": Flow.customers, "run_id": run_id}
        await apply(
            h,
            ev.CustomerEnsured(
                **env, entity=entity(1), debtor_number="1", outcome=ev.UpsertOutcome.updated
            ),
        )
        await apply(h, ev.FlowRunFetched(**env, fetched=1))
        run = (await h.client.get(f"/v1/runs/{run_id}", headers=key)).json()
        assert run["status"] == "succeeded"

    async def test_runs_follow_events_through_the_bus(self, h: Harness) -> None:
        """End to end: the relay publishes, the gateway's own subscription updates the run."""
        import asyncio

        tenant_id, key, run_id = await self._run(h, "stock")
        env = {"tenant_id": tenant_id, "flow": Flow.stock, "run_id": run_id}
        await h.runtime.bus.publish(
            [
                ev.FlowRunFetched(**env, fetched=1),
                ev.StockUpdated(**env, entity=entity(1), quantity=3),
            ]
        )
        for _ in range(200):
            run = (await h.client.get(f"/v1/runs/{run_id}", headers=key)).json()
            if run["status"] != "running":
                break
            await asyncio.sleep(0.02)
        assert run["status"] == "succeeded"
