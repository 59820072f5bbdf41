"""What the sandboxes must hold at the end, and how far the real end state is from it.

The expectation comes from the seeded data alone (the sandboxes' state right after
``/_sandbox/reset``, which is ``build_dataset(seed, sizes)``), never from what Koppel did:

* orders: every eAccounting order in a synced status (shipped 3, invoiced 4) becomes exactly
  one AccountView sales order, found by the eAccounting order number the mapper writes into
  ``COMMENT1``; an order with an article AccountView does not have (the seed's ``UNKNOWN-*``)
  must not arrive and must fail permanently with a missing-products reason;
* products: every AccountView article exists exactly once in eAccounting, keyed by
  ``Number`` (blocked articles may be skipped).

Anything not in AccountView/eAccounting that should be is *lost* unless the activity log
explains it with a permanent failure; more than one record for a key is *duplicated*; a new
record for no expected key is *unexpected*.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

SYNCED_STATUSES = frozenset({3, 4})  # eAccounting: 3 shipped, 4 invoiced
ORDER_NUMBER_FIELD = "COMMENT1"  # koppel.mapper.domain.settings.ORDER_NUMBER_FIELD


@dataclass
class Expectation:
    orders_sync: dict[str, str] = field(default_factory=dict)  # number -> eAccounting id
    orders_fail: dict[str, str] = field(default_factory=dict)  # number -> id (missing SKUs)
    orders_ignored: int = 0  # not in a synced status
    av_orders_before: Counter[str] = field(default_factory=Counter)  # COMMENT1 counts
    articles: dict[str, bool] = field(default_factory=dict)  # ART_CODE -> blocked
    ea_articles_before: Counter[str] = field(default_factory=Counter)

    @property
    def expected_records(self) -> int:
        return len(self.orders_sync) + len(self.orders_fail) + len(self.articles)


def av_table(state: dict[str, Any], table: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = state["companies"][0]["tables"].get(table, [])
    return rows


def build_expectation(ea_state: dict[str, Any], av_state: dict[str, Any]) -> Expectation:
    exp = Expectation()
    av_codes = {str(a["ART_CODE"]) for a in av_table(av_state, "ARTICLE")}
    for order in ea_state["data"]["orders"]:
        number = str(order["Number"])
        if order["Status"] not in SYNCED_STATUSES:
            exp.orders_ignored += 1
            continue
        skus = {
            str(r.get("ArticleNumber"))
            for r in order.get("Rows", [])
            if r.get("ArticleNumber") and not r.get("IsTextRow")
        }
        # SHIPPING rows become the shipping-cost article (configured by the harness).
        missing = {s for s in skus if s != "SHIPPING" and s not in av_codes}
        (exp.orders_fail if missing else exp.orders_sync)[number] = str(order["Id"])
    exp.av_orders_before = Counter(
        str(h.get(ORDER_NUMBER_FIELD) or "") for h in av_table(av_state, "SO_HDR")
    )
    exp.articles = {
        str(a["ART_CODE"]): bool(a.get("REC_BLK")) for a in av_table(av_state, "ARTICLE")
    }
    exp.ea_articles_before = Counter(str(a["Number"]) for a in ea_state["data"]["articles"])
    return exp


@dataclass
class Failure:
    key: str
    reason_code: str | None
    reason: str | None


def failures_by_key(activity: list[dict[str, Any]], flow: str) -> dict[str, Failure]:
    """Permanent failures in the activity log, indexed by every key that names the record."""
    found: dict[str, Failure] = {}
    for entry in activity:
        if entry.get("flow") != flow or entry.get("status") not in ("failed", "dead_lettered"):
            continue
        failure = Failure(
            key=str(entry.get("entity_key") or entry.get("source_id")),
            reason_code=entry.get("reason_code"),
            reason=entry.get("reason"),
        )
        for key in (entry.get("entity_key"), entry.get("source_id")):
            if key:
                found[str(key)] = failure
    return found


def compare(
    exp: Expectation,
    ea_final: dict[str, Any],
    av_final: dict[str, Any],
    activity: list[dict[str, Any]],
) -> dict[str, Any]:
    av_orders = Counter(str(h.get(ORDER_NUMBER_FIELD) or "") for h in av_table(av_final, "SO_HDR"))
    new_orders = av_orders - exp.av_orders_before
    order_failures = failures_by_key(activity, "orders")

    def failure_for(number: str, source_id: str) -> Failure | None:
        return order_failures.get(number) or order_failures.get(source_id)

    orders: dict[str, Any] = {
        "expected_synced": len(exp.orders_sync),
        "expected_failed_missing_products": len(exp.orders_fail),
        "not_in_synced_status": exp.orders_ignored,
        "synced": 0,
        "failed": Counter(),
        "lost": [],
        "duplicated": [],
        "unexpected": [],
        "failed_unexpectedly": [],
        "missing_product_not_logged": [],
    }
    for number, source_id in exp.orders_sync.items():
        count = new_orders.get(number, 0)
        if count == 1:
            orders["synced"] += 1
        elif count > 1:
            orders["duplicated"].append(number)
        elif (failure := failure_for(number, source_id)) is not None:
            orders["failed"][failure.reason_code or "?"] += 1
            orders["failed_unexpectedly"].append(
                {"number": number, "reason_code": failure.reason_code, "reason": failure.reason}
            )
        else:
            orders["lost"].append(number)
    for number, source_id in exp.orders_fail.items():
        if new_orders.get(number, 0):
            orders["unexpected"].append(number)
            continue
        failure = failure_for(number, source_id)
        if failure is None:
            orders["missing_product_not_logged"].append(number)
        else:
            orders["failed"][failure.reason_code or "?"] += 1
    known = set(exp.orders_sync) | set(exp.orders_fail)
    orders["unexpected"] += sorted(k for k in new_orders if k not in known)

    ea_articles = Counter(str(a["Number"]) for a in ea_final["data"]["articles"])
    product_failures = failures_by_key(activity, "products")
    products: dict[str, Any] = {
        "expected": len(exp.articles),
        "synced": 0,
        "skipped_blocked": 0,
        "failed": Counter(),
        "lost": [],
        "duplicated": [],
        "unexpected": [],
        "failed_unexpectedly": [],
    }
    for code, blocked in exp.articles.items():
        count = ea_articles.get(code, 0)
        if count == 1:
            products["synced"] += 1
        elif count > 1:
            products["duplicated"].append(code)
        elif blocked:
            products["skipped_blocked"] += 1
        elif (failure := product_failures.get(code)) is not None:
            products["failed"][failure.reason_code or "?"] += 1
            products["failed_unexpectedly"].append(
                {"sku": code, "reason_code": failure.reason_code, "reason": failure.reason}
            )
        else:
            products["lost"].append(code)
    products["unexpected"] = sorted(
        k for k in ea_articles if k not in exp.articles and k not in exp.ea_articles_before
    )
    for section in (orders, products):
        section["failed"] = dict(section["failed"])
    return {"orders": orders, "products": products}
