"""The orders flow end to end in embedded mode, against sandboxes seeded with 200+ orders:
company and person customers (returning ones too), NL/BE/DE/SE/NO addresses, multi-line
orders with shipping and discounts, every status, unknown SKUs, an unmapped VAT country and
customers without an e-mail. Asserts the exact outcomes and the AccountView state."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from koppel.orders.embedded import World

from .expected import Expected, delivery_key, expected_outcomes, source_lines

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def _ids(events: list[Any]) -> set[str]:
    return {e.entity.source_id for e in events}


def assert_outcomes(result: Any, expected: Expected) -> None:
    assert result.failed_run is None
    assert result.dead_letters == []
    assert result.fetched == expected.fetched
    assert _ids(result.synced) == expected.synced
    failed = {f.entity.source_id: f for f in result.failed}
    assert set(failed) == set(expected.failed)
    for oid, (step, code, missing) in expected.failed.items():
        event = failed[oid]
        assert (event.step, event.reason_code) == (step, code), event.reason
        assert event.reason  # a sentence for the bookkeeper
        if missing:
            assert event.details["missing_skus"] == missing
            assert all(sku in event.reason for sku in missing)


async def assert_accountview_state(
    world: World, result: Any, expected: Expected, before: dict[str, list[dict[str, Any]]]
) -> None:
    headers = await world.av_table("SO_HDR")
    lines = await world.av_table("SO_LINE")
    debtors = await world.av_table("CONTACT")
    addresses = await world.av_table("DEL_ADDR")
    # Orders: exactly one per synced eAccounting order, found by its number in COMMENT1
    created = [h for h in headers if h["ORD_NR"] not in {b["ORD_NR"] for b in before["SO_HDR"]}]
    numbers = {str(expected.orders[oid]["Number"]): oid for oid in expected.synced}
    assert sorted(h["COMMENT1"] for h in created) == sorted(numbers)
    by_mail = {d["MAIL_BUS"]: d for d in debtors if d.get("MAIL_BUS")}
    # Debtors: one per e-mail, never two
    mails = Counter(d["MAIL_BUS"] for d in debtors if d.get("MAIL_BUS"))
    assert [m for m, n in mails.items() if n > 1] == []
    seeded = {d["MAIL_BUS"]: d["SUB_NR"] for d in before["CONTACT"] if d.get("MAIL_BUS")}
    wanted_mails = set(expected.emails.values())
    new_debtors = [
        d for d in debtors if d["SUB_NR"] not in {b["SUB_NR"] for b in before["CONTACT"]}
    ]
    assert {d["MAIL_BUS"] for d in new_debtors} == wanted_mails - set(seeded)
    synced_by_id = {e.entity.source_id: e for e in result.synced}
    lines_by_order: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        lines_by_order.setdefault(line["ORD_NR"], []).append(line)
    for header in created:
        oid = numbers[header["COMMENT1"]]
        order = expected.orders[oid]
        customer = expected.customers[order["CustomerId"]]
        debtor = by_mail[expected.emails[oid]]
        # booked on the customer's debtor (the seeded one when it already existed)
        assert header["RPL_INV"] == header["RPL_DEL"] == debtor["SUB_NR"]
        assert synced_by_id[oid].debtor_number == debtor["SUB_NR"]
        assert synced_by_id[oid].entity.target_id == header["ORD_NR"]
        if debtor["MAIL_BUS"] in seeded:
            assert debtor["SUB_NR"] == seeded[debtor["MAIL_BUS"]]
        elif customer["IsPrivatePerson"]:
            assert not debtor.get("MAIN_CONT")
            assert debtor["ACCT_NAME"] == customer["Name"][:40]
        else:
            assert debtor["ACCT_NAME"] == customer["Name"][:40]
            assert debtor["MAIN_CONT"] == customer["ContactPersonName"]
        # lines: every article row, shipping as one VERZEND line; prices as the saga sent them
        got = lines_by_order[header["ORD_NR"]]
        assert sorted((line["ART_CODE"], float(line["ORD_QTY"])) for line in got) == source_lines(
            order
        )
        sent = {
            (x["ART_CODE"], round(float(x["ART_PX"]), 2)) for x in synced_by_id[oid].target["lines"]
        }
        assert {(x["ART_CODE"], round(float(x["ART_PX"]), 2)) for x in got} == sent
        # delivery address: the order's own, shared with other orders to the same door
        if delivery_key(order) is not None:
            address = next(a for a in addresses if str(a["REC_ID"]) == str(header["DEL_CODE"]))
            assert address["SUB_NR"] == debtor["SUB_NR"]
    keys = Counter(
        (a["SUB_NR"], a["ADDRESS1"].lower(), a["POST_CODE"].replace(" ", ""), a["CITY"].lower())
        for a in addresses
    )
    assert [k for k, n in keys.items() if n > 1] == []
    doors = {
        (by_mail[expected.emails[oid]]["SUB_NR"], *(delivery_key(expected.orders[oid]) or ()))
        for oid in expected.synced
        if delivery_key(expected.orders[oid]) is not None
    }
    assert len(addresses) - len(before["DEL_ADDR"]) == len(doors)


async def snapshot(world: World) -> dict[str, list[dict[str, Any]]]:
    return {t: await world.av_table(t) for t in ("SO_HDR", "SO_LINE", "CONTACT", "DEL_ADDR")}


@pytest.mark.world(orders=220)
async def test_orders_sync_exactly_once(world: World) -> None:
    # Given 220 seeded orders (plus two of customers without an e-mail)
    expected = expected_outcomes(world)
    assert len(expected.orders) >= 200
    assert len(expected.synced) > 100 and {c for _, c, _ in expected.failed.values()} == {
        "unmapped_value",
        "missing_email",
        "missing_products",
    }
    before = await snapshot(world)
    # When the orders flow runs
    result = await world.run_orders()
    # Then every selected order has exactly the expected outcome, and AccountView holds them
    assert_outcomes(result, expected)
    await assert_accountview_state(world, result, expected, before)
    print(
        {
            "e2e_orders_seconds": round(result.seconds, 2),
            "synced": len(result.synced),
            "calls": await world.request_counts(),
        }
    )

    # When it runs again: the cursor moved, nothing is read again, nothing created
    after = await snapshot(world)
    again = await world.run_orders()
    assert (again.fetched, again.synced, again.failed) == (0, [], [])
    # And a full sweep reads everything again: synced orders are skipped, failures fail again
    sweep = await world.run_orders(full_sweep=True)
    assert sweep.synced == []
    assert _ids(sweep.skipped) == expected.synced
    assert all("already exists" in s.reason for s in sweep.skipped)
    assert _ids(sweep.failed) == set(expected.failed)
    assert {t: len(rows) for t, rows in (await snapshot(world)).items()} == {
        t: len(rows) for t, rows in after.items()
    }


@pytest.mark.world(orders=80, customers=30, duplicate_deliveries=True)
async def test_every_message_delivered_twice_creates_nothing_twice(world: World) -> None:
    expected = expected_outcomes(world)
    before = await snapshot(world)
    result = await world.run_orders()
    assert_outcomes(result, expected)
    await assert_accountview_state(world, result, expected, before)
    # every message really was delivered twice
    assert world.recorder.deliveries >= 2 * len(world.recorder.messages)


@pytest.mark.world(orders=60, customers=25, target="sales_invoice")
async def test_sales_invoices_and_a_dry_run_that_writes_nothing(world: World) -> None:
    expected = expected_outcomes(world)
    pages_before = await world.av_table("DJ_PAGE")
    debtors_before = await world.av_table("CONTACT")
    # A dry run fetches and maps everything and writes nothing, nor moves the cursor
    dry = await world.run_orders(dry_run=True)
    mapped = expected.fetched - sum(1 for step, _, _ in expected.failed.values() if step == "map")
    assert len(dry.skipped) == mapped and dry.synced == []
    assert all(s.reason.startswith("Dry run") for s in dry.skipped)
    assert await world.av_table("DJ_PAGE") == pages_before
    assert len(await world.av_table("CONTACT")) == len(debtors_before)
    # The real run books every order as a sales-journal invoice on its debtor
    result = await world.run_orders()
    assert_outcomes(result, expected)
    pages = [p for p in await world.av_table("DJ_PAGE") if p not in pages_before]
    numbers = {str(expected.orders[oid]["Number"]) for oid in expected.synced}
    assert sorted(p["COMMENT1"] for p in pages) == sorted(numbers)
    debtors = {
        d["MAIL_BUS"]: d["SUB_NR"] for d in await world.av_table("CONTACT") if d.get("MAIL_BUS")
    }
    for event in result.synced:
        assert event.debtor_number == debtors[expected.emails[event.entity.source_id]]
    djlines = await world.av_table("DJ_LINE")
    assert {
        line["ACCT_NR"] for line in djlines if line.get("INV_NR") in {p["INV_NR"] for p in pages}
    } <= {"8000", "8010", "8020"}


@pytest.mark.world(orders=120, customers=40, statuses=("invoiced",), only_paid=True)
async def test_only_paid_orders_are_synced(world: World) -> None:
    expected = expected_outcomes(world, paid_only=True)
    assert expected.synced and expected.filtered
    result = await world.run_orders()
    assert_outcomes(result, expected)


@pytest.mark.world(orders=50, customers=20, default_debtor="10001", unmapped_vat_countries=())
async def test_a_default_debtor_takes_every_order_and_creates_no_debtor(world: World) -> None:
    expected = expected_outcomes(world)
    debtors = await world.av_table("CONTACT")
    result = await world.run_orders()
    assert_outcomes(result, expected)
    assert {e.debtor_number for e in result.synced} == {"10001"}
    assert len(await world.av_table("CONTACT")) == len(debtors)
