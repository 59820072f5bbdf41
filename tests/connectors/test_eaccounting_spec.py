"""Every request body the eAccounting connector sends validates against Visma's OpenAPI
request schemas (the sandbox's vendored copy of the official document)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest

import koppel.sandbox.eaccounting as ea_sandbox_pkg
from koppel.connectors.common import RecordingHook
from koppel.connectors.eaccounting import Order, OrderRow, OrderStatus

from .conftest import Sandbox, make_ea_client
from .test_eaccounting_client import new_article, new_customer

SPEC_PATH = Path(ea_sandbox_pkg.__file__).parent / "spec" / "eaccounting-v2-openapi.json"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


def request_schema(spec: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    rel = path.split("/v2", 1)[1]
    for template, item in spec["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        op = item.get(method.lower()) if isinstance(item, dict) else None
        if op and re.match(pattern, rel, re.IGNORECASE):
            content = op["requestBody"]["content"]
            schema = next(v["schema"] for k, v in content.items() if "json" in k)
            return {**schema, "components": spec["components"]}
    raise AssertionError(f"no operation {method} {rel} in the spec")


async def test_every_request_body_matches_the_official_schema(
    ea_sandbox: Sandbox, spec: dict[str, Any]
) -> None:
    recorder = RecordingHook()
    async with make_ea_client(ea_sandbox, hooks=(recorder,)) as ea:
        customer = (
            await ea.create_customer_once(await new_customer(ea, "spec@example.nl", "SPEC-1"))
        ).record
        assert customer.id is not None
        await ea.update_customer(
            customer.id, {"InvoiceCity": "Leiden", "EmailAddresses": ["cc@example.nl"]}
        )
        article = (
            await ea.create_article_once(await new_article(ea, "SPEC-SKU", "8711111111111"))
        ).record
        await ea.update_article_by_number("SPEC-SKU", {"Name": "Nieuw", "IsStock": True})
        await ea.create_order(
            Order(
                customer_id=customer.id,
                currency_code="EUR",
                status=OrderStatus.DRAFT,
                your_reference="Webshop 1001",
                rows=[
                    OrderRow(line_number=1, article_id=article.id, quantity=1, unit_price=10.0),
                    OrderRow(line_number=2, is_text_row=True, text="Bedankt!"),
                ],
            )
        )
        existing = (await anext(ea.iter_articles())).data[0]
        assert existing.id is not None
        await ea.update_article(existing.id, {"NetPrice": existing.net_price})

    bodies = [e for e in recorder.exchanges if e.method in ("POST", "PUT") and e.request_body]
    kinds = {(e.method, re.sub(r"/[0-9a-f-]{36}", "/{id}", urlsplit(e.url).path)) for e in bodies}
    assert kinds == {
        ("POST", "/v2/customers"),
        ("PUT", "/v2/customers/{id}"),
        ("POST", "/v2/articles"),
        ("PUT", "/v2/articles/{id}"),
        ("POST", "/v2/orders"),
    }
    for exchange in bodies:
        schema = request_schema(spec, exchange.method, urlsplit(exchange.url).path)
        body = json.loads(exchange.request_body or "{}")
        jsonschema.Draft202012Validator(schema).validate(body)


def test_a_wrong_body_would_be_caught(spec: dict[str, Any]) -> None:
    schema = request_schema(spec, "POST", "/v2/articles")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(
            {"Number": "X", "Name": "Y", "Gtin": "871"}
        )
