"""The customers flow end to end (poll on ChangedUtc → mapper → debtors), and the orders flow
reusing the debtors it made."""

from __future__ import annotations

from collections import Counter

import pytest

from koppel.common.events import CustomerEnsured, CustomerFailed, CustomerFetched, UpsertOutcome
from koppel.orders.embedded import World

from .expected import expected_outcomes

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.mark.world(orders=60, customers=40)
async def test_customers_become_debtors_once_and_orders_reuse_them(world: World) -> None:
    # Given the eAccounting customers, five of whom already exist in AccountView by e-mail
    customers = world.ea.store.all("customers")
    seeded = {
        d["MAIL_BUS"]: d["SUB_NR"] for d in await world.av_table("CONTACT") if d.get("MAIL_BUS")
    }
    # When the customers flow runs
    run_id = await world.run_customers()
    # Then every customer is ensured or failed with a reason
    ensured = world.recorder.of(CustomerEnsured, run_id)
    failed = world.recorder.of(CustomerFailed, run_id)
    assert len(world.recorder.of(CustomerFetched, run_id)) == len(customers)
    assert len(ensured) + len(failed) == len(customers)
    no_mail = {c["Id"] for c in customers if not str(c.get("EmailAddress") or "").strip()}
    norway = {c["Id"] for c in customers if c.get("InvoiceCountryCode") == "NO"} - no_mail
    assert {f.entity.source_id for f in failed} == no_mail | norway
    assert {f.reason_code for f in failed if f.entity.source_id in no_mail} == {"missing_email"}
    assert {f.step for f in failed if f.entity.source_id in norway} == {"map"}
    # one debtor per e-mail; the existing ones kept their number (and were updated)
    debtors = await world.av_table("CONTACT")
    assert [
        m for m, n in Counter(d["MAIL_BUS"] for d in debtors if d.get("MAIL_BUS")).items() if n > 1
    ] == []
    by_mail = {d["MAIL_BUS"]: d for d in debtors if d.get("MAIL_BUS")}
    for event in ensured:
        assert by_mail[event.entity.key]["SUB_NR"] == event.debtor_number
        if event.entity.key in seeded:
            assert event.debtor_number == seeded[event.entity.key]
            assert event.outcome in (UpsertOutcome.updated, UpsertOutcome.unchanged)
        else:
            assert event.outcome is UpsertOutcome.created
    companies = [
        c
        for c in customers
        if not c["IsPrivatePerson"] and c["EmailAddress"] not in seeded and c["Id"] not in norway
    ]
    assert companies
    for company in companies:
        assert by_mail[company["EmailAddress"]]["MAIN_CONT"] == company["ContactPersonName"]

    # When it runs again nothing is read; a single-record run reads and leaves that one unchanged
    again = await world.run_customers()
    assert world.recorder.of(CustomerFetched, again) == []
    one = next(c for c in customers if c["Id"] not in no_mail | norway)
    single = await world.run_customers(record_id=one["Id"])
    [answer] = world.recorder.of(CustomerEnsured, single)
    assert answer.outcome is UpsertOutcome.unchanged

    # And the orders flow books on those debtors without creating any
    count = len(debtors)
    expected = expected_outcomes(world)
    result = await world.run_orders()
    assert {e.entity.source_id for e in result.synced} == expected.synced
    assert len(await world.av_table("CONTACT")) == count
