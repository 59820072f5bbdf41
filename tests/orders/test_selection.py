from __future__ import annotations

from datetime import date

import pytest

from koppel.orders.selection import (
    Enrichment,
    PaymentStatus,
    parse_statuses,
    payment_status_by_order,
    select_order,
)


def order(status: int, day: str = "2026-03-01") -> dict[str, object]:
    return {"Id": "o1", "Status": status, "OrderDate": day}


class TestSelectOrder:
    def test_keeps_a_selected_status(self) -> None:
        assert select_order(order(3), statuses=parse_statuses(["shipped"])).keep

    def test_drops_an_unselected_status_with_a_reason(self) -> None:
        result = select_order(order(1), statuses=parse_statuses(["shipped", "invoiced"]))
        assert not result.keep
        assert "draft" in result.reason

    def test_paid_means_the_invoice_is_paid(self) -> None:
        only_paid = parse_statuses(["paid"])
        assert select_order(order(4), statuses=only_paid, payment_status=PaymentStatus.paid).keep
        assert not select_order(
            order(4), statuses=only_paid, payment_status=PaymentStatus.unpaid
        ).keep
        assert not select_order(order(4), statuses=only_paid, payment_status=None).keep

    def test_orders_before_the_cut_off_date_are_dropped(self) -> None:
        result = select_order(
            order(3, "2025-12-31"), statuses=parse_statuses([3]), not_before=date(2026, 1, 1)
        )
        assert not result.keep

    def test_statuses_accept_codes_and_names(self) -> None:
        assert parse_statuses([1, "2", " Shipped ", "PAID"]) == {
            "draft",
            "ongoing",
            "shipped",
            "paid",
        }
        with pytest.raises(ValueError, match="unknown order status"):
            parse_statuses(["cancelled"])


def test_an_unpaid_invoice_keeps_the_order_unpaid() -> None:
    invoices = [
        {"CreatedFromOrderId": "a", "PaymentStatus": 0},
        {"CreatedFromOrderId": "a", "PaymentStatus": 2},
        {"CreatedFromOrderId": "b", "PaymentStatus": 0},
        {"CreatedFromOrderId": None, "PaymentStatus": 0},
    ]
    assert payment_status_by_order(invoices) == {"a": 2, "b": 0}


def test_enrichment_fills_only_what_the_order_lacks() -> None:
    enrich = Enrichment(
        store_id="web-1", defaults={"CurrencyCode": "EUR", "DeliveryMethodCode": "PNL"}
    )
    data = enrich.for_order(
        {"CurrencyCode": "SEK", "DeliveryMethodCode": None}, customer={"Id": "c"}, payment_status=0
    )
    assert data == {
        "store_id": "web-1",
        "defaults": {"DeliveryMethodCode": "PNL"},
        "customer": {"Id": "c"},
        "payment_status": "paid",
    }
