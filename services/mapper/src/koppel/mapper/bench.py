"""Mapper throughput: orders mapped per second on one core (``koppel bench mapper``).

Measures the pure mapping path a handler runs (default mapping, tenant overrides, fitting to
AccountView's columns), on a realistic 4-line order with shipping and a line discount,
varying the order number so nothing is cached by accident. No database, no bus.
"""

from __future__ import annotations

import copy
import platform
import time
from typing import Any

from koppel.mapper.domain.compiler import Scope, compile_expression
from koppel.mapper.domain.engine import map_order_record
from koppel.mapper.domain.mapping import CompiledMapping, compile_mapping
from koppel.mapper.domain.transforms import EvalContext
from koppel.mapper.domain.valuemaps import ValueMaps

GOAL_PER_SECOND = 5000

_ORDER: dict[str, Any] = {
    "Id": "5b7e0c2e-1111-4444-8888-000000001042",
    "Number": 1042,
    "CurrencyCode": "EUR",
    "OrderDate": "2024-05-01",
    "DeliveryDate": "2024-05-03",
    "IncludesVat": False,
    "CustomerIsPrivatePerson": False,
    "InvoiceCustomerName": "Bakkerij De Vries B.V.",
    "InvoiceAddress1": "Dorpsstraat 12a-2",
    "InvoicePostalCode": "1234ab",
    "InvoiceCity": "Utrecht",
    "InvoiceCountryCode": "NL",
    "DeliveryCustomerName": "Bakkerij De Vries",
    "DeliveryAddress1": "Laan van Meerdervoort 1001 A",
    "DeliveryPostalCode": "2555CD",
    "DeliveryCity": "Den Haag",
    "DeliveryCountryCode": "NL",
    "DeliveryMethodName": "PostNL",
    "TermsOfPaymentId": "3e8c1a7e-2f4b-4c1d-9a55-8b7e6f5d4c3b",
    "YourReference": "PO-77",
    "Rows": [
        {
            "LineNumber": 0,
            "ArticleNumber": "BROOD-01",
            "Text": "Volkoren brood",
            "Quantity": 10,
            "UnitPrice": 2.5,
            "DiscountPercentage": 0.1,
            "VatRate": 9,
            "IsTextRow": False,
        },
        {
            "LineNumber": 1,
            "ArticleNumber": "KOFFIE-1KG",
            "Text": "Koffiebonen",
            "Quantity": 2,
            "UnitPrice": 18.0,
            "VatRate": 9,
            "IsTextRow": False,
        },
        {
            "LineNumber": 2,
            "ArticleNumber": "MOLEN-X",
            "Text": "Koffiemolen",
            "Quantity": 1,
            "UnitPrice": 100.0,
            "VatRate": 21,
            "IsTextRow": False,
        },
        {
            "LineNumber": 3,
            "ArticleNumber": "VERZEND",
            "Quantity": 1,
            "UnitPrice": 6.95,
            "VatRate": 21,
            "IsTextRow": False,
        },
    ],
}
_MAPS = ValueMaps.from_documents(
    {
        "vat_codes": {"entries": {"NL:21": "2", "NL:9": "1", "NL": "2"}},
        "revenue_accounts": {"entries": {"NL": "8000"}},
        "terms_of_payment": {"entries": {"3e8c1a7e-2f4b-4c1d-9a55-8b7e6f5d4c3b": "30"}},
        "shipping_methods": {"entries": {"PostNL": "PNL"}},
        "shipping_article": {"default": "VERZEND"},
        "sku_map": {"entries": {"KOFFIE-1KG": "KOF1000"}},
    }
)
_SETTINGS = {"shipping_article_numbers": ["VERZEND"]}
_OVERRIDES = {
    "SO_HDR.COMMENT2": "concat('Webshop ', source.Number, ' / ', default(source.YourReference, '-'))",
    "SO_LINE.ART_CODE": "upper(trim(default(line.ArticleNumber, value)))",
    "CONTACT.ACCT_NAME": "source.InvoiceCustomerName | trim | truncate(40)",
}


def _orders(count: int) -> list[dict[str, Any]]:
    orders = []
    for i in range(count):
        order = copy.deepcopy(_ORDER)
        order["Number"] = 1000 + i
        orders.append(order)
    return orders


def _rate(
    mapping: CompiledMapping, orders: list[dict[str, Any]], enrichment: dict[str, Any]
) -> tuple[float, float]:
    """(per CPU second, per wall-clock second). CPU time is "one core" even on a busy
    machine; wall-clock is what the same run took while sharing the machine."""
    for order in orders[:200]:  # warm-up
        map_order_record(order, enrichment, mapping, _MAPS)
    cpu, wall = time.process_time(), time.perf_counter()
    for order in orders:
        map_order_record(order, enrichment, mapping, _MAPS)
    return len(orders) / (time.process_time() - cpu), len(orders) / (time.perf_counter() - wall)


def _expression_rate(count: int) -> dict[str, float]:
    """Parse+compile and evaluation speed of the expression language on its own."""
    text = (
        "upper(trim(concat(source.InvoiceCustomerName, ' ', default(source.YourReference, '-'))))"
    )
    started = time.process_time()
    for _ in range(2000):
        compiled = compile_expression(text, {"source": None})
    compile_rate = 2000 / (time.process_time() - started)
    scope = Scope(EvalContext(_MAPS, "Order 1"), _ORDER)
    evaluate = compiled.evaluate
    started = time.process_time()
    for _ in range(count):
        evaluate(scope)
    return {
        "expression_compiles_per_second": round(compile_rate),
        "expression_evaluations_per_second": round(count / (time.process_time() - started)),
    }


def run_mapper_benchmark(count: int = 20000) -> dict[str, Any]:
    """Orders per second with the default mapping and with three tenant field overrides."""
    orders = _orders(count)
    enrichment = {"email": "Info@BakkerijDeVries.nl"}
    default = compile_mapping("orders", {"settings": _SETTINGS})
    overridden = compile_mapping("orders", {"settings": _SETTINGS, "fields": _OVERRIDES})
    default_rate, default_wall = _rate(default, orders, enrichment)
    override_rate, override_wall = _rate(overridden, orders, enrichment)
    invoice = compile_mapping("orders", {"settings": {**_SETTINGS, "target_kind": "sales_invoice"}})
    invoice_rate, invoice_wall = _rate(invoice, orders, enrichment)
    return {
        "orders": count,
        "lines_per_order": len(_ORDER["Rows"]),
        "default_mapping_per_second": round(default_rate),
        "with_overrides_per_second": round(override_rate),
        "sales_invoice_per_second": round(invoice_rate),
        "wall_clock_per_second": {
            "default": round(default_wall),
            "with_overrides": round(override_wall),
            "sales_invoice": round(invoice_wall),
        },
        "overrides": len(_OVERRIDES),
        **_expression_rate(count * 5),
        "goal_per_second": GOAL_PER_SECOND,
        "meets_goal": min(default_rate, override_rate, invoice_rate) >= GOAL_PER_SECOND,
        "python": platform.python_version(),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run_mapper_benchmark()))  # noqa: T201
