"""Ensuring debtors against a fake AccountView and a real (SQLite) unit of work."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa

from koppel.common.commands import EnsureCustomer
from koppel.common.db import Database
from koppel.common.events import (
    CustomerEnsured,
    CustomerFailed,
    EntityRef,
    EntityType,
    UpsertOutcome,
)
from koppel.common.messages import Message
from koppel.common.uow import UnitOfWork
from koppel.customers.claims import Claims, CustomerBeingCreated
from koppel.customers.ensure import CustomerSteps
from koppel.customers.models import CustomerLink

JSON = dict[str, Any]


class FakeDebtors:
    def __init__(self) -> None:
        self.rows: dict[str, JSON] = {}
        self.calls: Counter[str] = Counter()

    async def find_by_email(self, email: str) -> JSON | None:
        self.calls["find_by_email"] += 1
        await asyncio.sleep(0.01)  # let a concurrent handler interleave
        return next((dict(r) for r in self.rows.values() if r.get("MAIL_BUS") == email), None)

    async def get(self, number: str) -> JSON | None:
        self.calls["get"] += 1
        return dict(self.rows[number]) if number in self.rows else None

    async def create(self, fields: JSON) -> str:
        self.calls["create"] += 1
        await asyncio.sleep(0.01)
        number = str(10001 + len(self.rows))
        self.rows[number] = {**fields, "SUB_NR": number}
        return number

    async def update(self, fields: JSON) -> None:
        self.calls["update"] += 1
        self.rows[fields["SUB_NR"]].update(fields)


class Ports:
    def __init__(self, debtors: FakeDebtors, settings: JSON | None = None) -> None:
        self.debtors = debtors
        self.config: JSON = settings or {}

    async def source(self, tenant_id: str) -> Any:
        raise NotImplementedError

    async def target(self, tenant_id: str) -> FakeDebtors:
        return self.debtors

    async def settings(self, tenant_id: str) -> JSON:
        return self.config


def ensure(email: str | None = "Jan@Example.nl ", **fields: Any) -> EnsureCustomer:
    customer = {"MAIL_BUS": email, "ACCT_NAME": "Jan Jansen", "CITY": "Utrecht", **fields}
    return EnsureCustomer(
        tenant_id="t1",
        entity=EntityRef(type=EntityType.order, source_id="o1", key="1001"),
        customer={k: v for k, v in customer.items() if v is not None},
    )


async def run(db: Database, steps: CustomerSteps, message: EnsureCustomer) -> list[Message]:
    async with UnitOfWork(db, message=message, handler="ensure") as uow:
        if await uow.already_processed():
            return []
        await steps.ensure(
            message,
            uow,
            mapped=message.customer,
            source=message.source,
            source_id=message.entity.source_id,
        )
        await uow.commit()
        return uow.published


@pytest.fixture
def debtors() -> FakeDebtors:
    return FakeDebtors()


def make(database: Database, debtors: FakeDebtors, settings: JSON | None = None) -> CustomerSteps:
    return CustomerSteps(Ports(debtors, settings), Claims(database))


async def test_a_new_customer_is_created_and_answered_with_the_same_correlation(
    database: Database, debtors: FakeDebtors
) -> None:
    message = ensure()
    out = await run(database, make(database, debtors), message)
    answer = out[0]
    assert isinstance(answer, CustomerEnsured)
    assert (answer.debtor_number, answer.outcome) == ("10001", UpsertOutcome.created)
    assert answer.correlation_id == message.correlation_id
    assert debtors.rows["10001"]["MAIL_BUS"] == "jan@example.nl"


async def test_a_returning_customer_costs_no_api_call(
    database: Database, debtors: FakeDebtors
) -> None:
    steps = make(database, debtors)
    await run(database, steps, ensure())
    calls = sum(debtors.calls.values())
    out = await run(database, steps, ensure())
    assert out[0].outcome is UpsertOutcome.unchanged  # type: ignore[attr-defined]
    assert sum(debtors.calls.values()) == calls


async def test_an_existing_debtor_is_found_by_email_and_updated(
    database: Database, debtors: FakeDebtors
) -> None:
    debtors.rows["20000"] = {
        "SUB_NR": "20000",
        "MAIL_BUS": "jan@example.nl",
        "ACCT_NAME": "Jan Jansen",
        "CITY": "Amsterdam",
        "SRC_CODE": "JANJANSEN",
    }
    out = await run(database, make(database, debtors), ensure())
    assert (out[0].debtor_number, out[0].outcome) == ("20000", UpsertOutcome.updated)  # type: ignore[attr-defined]
    assert debtors.rows["20000"]["CITY"] == "Utrecht"
    assert debtors.calls["create"] == 0


async def test_update_off_uses_the_debtor_as_it_is(
    database: Database, debtors: FakeDebtors
) -> None:
    debtors.rows["20000"] = {"SUB_NR": "20000", "MAIL_BUS": "jan@example.nl", "CITY": "Amsterdam"}
    out = await run(database, make(database, debtors, {"update_existing": False}), ensure())
    assert out[0].outcome is UpsertOutcome.unchanged  # type: ignore[attr-defined]
    assert debtors.rows["20000"]["CITY"] == "Amsterdam"


@pytest.mark.parametrize(
    ("email", "code"), [(None, "missing_email"), ("not-an-email", "invalid_email")]
)
async def test_a_customer_without_a_usable_email_fails(
    database: Database, debtors: FakeDebtors, email: str | None, code: str
) -> None:
    out = await run(database, make(database, debtors), ensure(email))
    assert isinstance(out[0], CustomerFailed)
    assert out[0].reason_code == code
    assert debtors.calls["create"] == 0


async def test_a_default_debtor_takes_any_customer(
    database: Database, debtors: FakeDebtors
) -> None:
    out = await run(database, make(database, debtors, {"default_debtor": "99999"}), ensure(None))
    assert (out[0].debtor_number, out[0].outcome) == ("99999", UpsertOutcome.unchanged)  # type: ignore[attr-defined]
    assert sum(debtors.calls.values()) == 0


async def test_a_company_gets_a_company_debtor_with_its_contact(
    database: Database, debtors: FakeDebtors
) -> None:
    await run(
        database,
        make(database, debtors),
        ensure(COMPANY_NAME="De Vries BV", MAIN_CONT="Anna de Vries"),
    )
    row = debtors.rows["10001"]
    assert (row["ACCT_NAME"], row["MAIN_CONT"]) == ("De Vries BV", "Anna de Vries")


async def test_two_orders_of_one_new_customer_at_once_make_one_debtor(
    database: Database, debtors: FakeDebtors
) -> None:
    # Two service instances (separate claim layers), so only the database claim protects.
    first, second = make(database, debtors), make(database, debtors)
    results = await asyncio.gather(
        run(database, first, ensure()), run(database, second, ensure()), return_exceptions=True
    )
    assert debtors.calls["create"] == 1
    retried = [r for r in results if isinstance(r, Exception)]
    # the loser is told to retry (transient) and, retried, finds the debtor
    for _ in retried:
        out = await run(database, second, ensure())
        assert out[0].debtor_number == "10001"  # type: ignore[attr-defined]
    assert len(debtors.rows) == 1


async def test_two_orders_in_one_process_wait_for_each_other(
    database: Database, debtors: FakeDebtors
) -> None:
    steps = make(database, debtors)
    results = await asyncio.gather(*(run(database, steps, ensure()) for _ in range(5)))
    assert debtors.calls["create"] == 1
    assert {r[0].debtor_number for r in results} == {"10001"}  # type: ignore[attr-defined]


async def test_an_owner_taken_over_before_it_creates_sends_nothing(
    database: Database, debtors: FakeDebtors
) -> None:
    # Given an owner whose claim is taken over by another replica while it looks the debtor
    # up (it stalled past its lease)
    steps = make(database, debtors)
    find = debtors.find_by_email

    async def lookup_then_lose_the_claim(email: str) -> JSON | None:
        async with database.session() as session:
            await session.execute(sa.update(CustomerLink).values(claimed_by="another-replica"))
            await session.commit()
        return await find(email)

    debtors.find_by_email = lookup_then_lose_the_claim  # type: ignore[method-assign]
    # When it comes to create the debtor, it is told to retry and creates nothing
    with pytest.raises(CustomerBeingCreated):
        await run(database, steps, ensure())
    assert debtors.calls["create"] == 0
