"""The mapping API through the real app (SQLite): save with validation, history, rollback,
value maps, preview, and tenant isolation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from koppel.common.app import create_service_app
from koppel.common.bus.memory import InMemoryBus
from koppel.common.db import Database
from koppel.common.runtime import ServiceRuntime
from koppel.common.settings import DEV_SERVICE_TOKEN
from koppel.mapper.app import SPEC
from koppel.mapper.config import MapperSettings

from .samples import VALUE_MAPS, article_with_ean, order_nl_company

BASE = "/internal/mapper/v1"


class Api:
    def __init__(self, client: httpx.AsyncClient, runtime: ServiceRuntime) -> None:
        self.client = client
        self.runtime = runtime

    def headers(self, tenant: str, actor: str = "anna@bakkerij.nl") -> dict[str, str]:
        return {
            "Authorization": f"Bearer {DEV_SERVICE_TOKEN}",
            "X-Koppel-Tenant": tenant,
            "X-Koppel-Actor": actor,
        }

    async def call(
        self, method: str, path: str, tenant: str = "t1", **kwargs: Any
    ) -> httpx.Response:
        return await self.client.request(
            method, f"{BASE}{path}", headers=self.headers(tenant), **kwargs
        )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.connected)])
async def api(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Api]:
    """The app on SQLite, and (connected) on PostgreSQL in a schema with a random name."""
    settings = MapperSettings(data_dir=tmp_path, log_json=False)
    database = None
    if request.param == "postgresql":
        url = request.getfixturevalue("database_url")
        database = Database(
            url, service="mapper", tables=SPEC.all_tables, schema=f"t_{uuid4().hex[:12]}"
        )
    runtime = ServiceRuntime(SPEC, bus=InMemoryBus(), settings=settings, database=database)
    app = create_service_app(runtime)
    await runtime.start()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mapper")
    try:
        yield Api(client, runtime)
    finally:
        await client.aclose()
        if database is not None:
            await database.drop_schema()
        await runtime.stop()


async def test_service_token_is_required(api: Api) -> None:
    response = await api.client.get(f"{BASE}/mappings/orders", headers={"X-Koppel-Tenant": "t1"})
    assert response.status_code == 401


async def test_defaults_before_anything_is_saved(api: Api) -> None:
    response = await api.call("GET", "/mappings/orders")
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == 0
    assert body["effective_settings"]["order_number_field"] == "COMMENT1"
    assert (await api.call("GET", "/mappings/invoices")).status_code == 404


async def test_save_history_rollback(api: Api) -> None:
    first = {
        "settings": {"discount_mode": "order"},
        "fields": {"SO_HDR.COMMENT2": "upper(source.YourReference)"},
    }
    second = {"settings": {"target_kind": "sales_invoice"}, "fields": {}}
    assert (await api.call("PUT", "/mappings/orders", json=first)).json()["version"] == 1
    saved = (await api.call("PUT", "/mappings/orders", json=second)).json()
    assert saved["version"] == 2
    assert saved["saved_by"] == "anna@bakkerij.nl"
    assert saved["effective_settings"]["target_kind"] == "sales_invoice"

    history = (await api.call("GET", "/mappings/orders/history")).json()
    assert [(h["version"], h["action"]) for h in history] == [(2, "save"), (1, "save")]
    assert history[1]["document"]["fields"] == first["fields"]

    rolled = await api.call("POST", "/mappings/orders/rollback", json={"version": 1})
    assert rolled.status_code == 200
    assert rolled.json()["version"] == 3
    assert rolled.json()["document"]["fields"] == first["fields"]
    history = (await api.call("GET", "/mappings/orders/history")).json()
    assert history[0]["action"] == "rollback to 1"
    assert (
        await api.call("POST", "/mappings/orders/rollback", json={"version": 9})
    ).status_code == 404


async def test_invalid_mapping_is_a_422_problem_naming_the_field(api: Api) -> None:
    bad = {
        "settings": {"discount_mode": "sometimes"},
        "fields": {
            "SO_HDR.COMMENT2": "uper(source.YourReference)",
            "SO_LINE.ART_CODE": "line.ArticleNumbr",
            "XX_TABLE.FOO": "'x'",
        },
    }
    response = await api.call("PUT", "/mappings/orders", json=bad)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    by_location = {e["location"]: e for e in problem["errors"]}
    assert (
        by_location["fields.SO_HDR.COMMENT2"]["message"]
        == "unknown transform 'uper' (did you mean 'upper'?)"
    )
    assert by_location["fields.SO_HDR.COMMENT2"]["position"] == 0
    assert by_location["fields.SO_LINE.ART_CODE"]["message"].startswith(
        "unknown line field 'ArticleNumbr'"
    )
    assert "fields.XX_TABLE.FOO" in by_location
    assert "settings.discount_mode" in by_location
    assert "SO_HDR.COMMENT2" in problem["invalid_fields"]
    assert (await api.call("GET", "/mappings/orders")).json()["version"] == 0  # nothing saved


async def test_value_maps_validate_normalise_and_version(api: Api) -> None:
    response = await api.call(
        "PUT", "/value-maps/vat_codes", json={"entries": {"be:21.0": "5", "NL:9": "1", "nl": "2"}}
    )
    assert response.status_code == 200
    assert response.json()["entries"] == {"BE:21": "5", "NL:9": "1", "NL": "2"}
    assert response.json()["version"] == 1
    bad = await api.call(
        "PUT", "/value-maps/vat_codes", json={"entries": {"Belgium": "5", "NL:21": "TOO"}}
    )
    assert bad.status_code == 422
    locations = {e["location"] for e in bad.json()["errors"]}
    assert locations == {"entries.Belgium", "entries.NL:21"}
    assert (await api.call("PUT", "/value-maps/colours", json={"entries": {}})).status_code == 404
    listed = (await api.call("GET", "/value-maps")).json()
    assert {m["name"] for m in listed} >= {
        "vat_codes",
        "terms_of_payment",
        "sku_map",
        "default_debtor",
    }


async def test_tenants_never_see_each_other(api: Api) -> None:
    await api.call(
        "PUT", "/mappings/customers", tenant="t1", json={"settings": {"collective_account": "1300"}}
    )
    await api.call("PUT", "/value-maps/sku_map", tenant="t1", json={"entries": {"A": "B"}})
    other = (await api.call("GET", "/mappings/customers", tenant="t2")).json()
    assert other["version"] == 0
    assert other["effective_settings"]["collective_account"] == "1210"
    assert (await api.call("GET", "/value-maps/sku_map", tenant="t2")).json()["entries"] == {}
    assert (await api.call("GET", "/mappings/customers/history", tenant="t2")).json() == []
    assert (
        await api.call("POST", "/mappings/customers/rollback", tenant="t2", json={"version": 1})
    ).status_code == 404


async def _load_value_maps(api: Api, tenant: str) -> None:
    for name, document in VALUE_MAPS.items():
        response = await api.call("PUT", f"/value-maps/{name}", tenant=tenant, json=document)
        assert response.status_code == 200, response.text


async def test_preview_saved_and_draft_with_lineage_and_validation(api: Api) -> None:
    await _load_value_maps(api, "t1")
    await api.call(
        "PUT", "/mappings/orders", json={"settings": {"shipping_article_numbers": ["VERZEND"]}}
    )
    saved = (
        await api.call("POST", "/mappings/orders/preview", json={"sample": order_nl_company()})
    ).json()
    assert saved["ok"] is True, saved
    assert saved["target"]["header"]["COMMENT1"] == "1042"
    assert saved["validation"]["SO_HDR"] == []
    assert saved["body"]["BusinessObject"] == "SO1"
    assert saved["lineage"]["SO_LINE[1].ART_CODE"]["transforms"] == ["lookup:sku_map"]
    assert saved["lineage"]["CONTACT.POST_CODE"]["sources"] == [
        "source.InvoicePostalCode",
        "source.InvoiceCountryCode",
    ]

    draft = {
        "settings": {"shipping_article_numbers": ["VERZEND"]},
        "fields": {"SO_HDR.COMMENT2": "concat('Shop ', source.Number)"},
    }
    preview = (
        await api.call(
            "POST",
            "/mappings/orders/preview",
            json={"sample": order_nl_company(), "mapping": draft},
        )
    ).json()
    assert preview["target"]["header"]["COMMENT2"] == "Shop 1042"
    assert preview["lineage"]["SO_HDR.COMMENT2"] == {
        "sources": ["source.Number"],
        "transforms": ["concat"],
        "rule": "override",
        "expression": "concat('Shop ', source.Number)",
    }
    assert (await api.call("GET", "/mappings/orders")).json()["document"][
        "fields"
    ] == {}  # draft not saved


async def test_preview_reports_a_mapping_failure_in_words(api: Api) -> None:
    sample = order_nl_company()
    draft = {"settings": {"shipping_article_numbers": ["VERZEND"]}}
    response = await api.call(
        "POST",
        "/mappings/orders/preview",
        tenant="empty",
        json={"sample": sample, "mapping": draft},
    )
    body = response.json()
    assert response.status_code == 200
    assert body["ok"] is False
    assert body["error"]["reason_code"] == "unmapped_value"
    assert "value map 'shipping_article'" in body["error"]["reason"]


async def test_preview_of_a_product_and_a_bad_draft(api: Api) -> None:
    await _load_value_maps(api, "t1")
    body = (
        await api.call("POST", "/mappings/products/preview", json={"sample": article_with_ean()})
    ).json()
    assert body["ok"] is True
    assert body["validation"] == {"Article": []}
    assert body["lineage"]["StockBalance"]["sources"] == ["source.QTY_FREE2"]
    bad = await api.call(
        "POST",
        "/mappings/products/preview",
        json={"sample": article_with_ean(), "mapping": {"fields": {"Colour": "'red'"}}},
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["location"] == "fields.Colour"
