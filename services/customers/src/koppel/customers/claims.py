"""Serialising debtor creation per tenant and e-mail.

Two orders of the same new customer, handled at once, must not create two debtors. Two
layers:

* in the process, an ``asyncio.Lock`` per (tenant, e-mail): the second handler simply waits;
* across replicas, the ``customer_links`` row as a claim, written in its own short
  transaction *before* the slow AccountView calls (a transaction held open across them would
  stall every writer of a SQLite file). The primary key lets one claimer win; a loser raises
  ``TransientError`` and is retried by the bus, by which time the link usually holds the
  debtor. A claim's lease lets a newcomer take over from a claimer that crashed; a claimer
  that is only slow renews its lease while it works (``koppel.common.leases``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from weakref import WeakValueDictionary

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from koppel.common.db import Database
from koppel.common.errors import TransientError
from koppel.common.messages import utcnow
from koppel.customers.models import CustomerLink

LEASE = timedelta(seconds=30)
# A floor in real time: stalls of a loaded machine do not shrink with a test's time scale,
# and a lease shorter than a stall hands the debtor to a second replica mid-create.
MIN_LEASE = timedelta(seconds=10)


class CustomerBeingCreated(TransientError):
    def __init__(self, email: str) -> None:
        super().__init__(
            f"Another order is creating the debtor for {email} right now; retrying.",
            reason_code="customer_being_created",
            retry_after=1.0,
        )


class Claims:
    def __init__(self, database: Database, lease: timedelta = LEASE) -> None:
        self.database = database
        self.lease = lease
        self._locks: WeakValueDictionary[tuple[str, str], asyncio.Lock] = WeakValueDictionary()

    @asynccontextmanager
    async def local(self, tenant_id: str, email: str) -> AsyncIterator[None]:
        key = (tenant_id, email)
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        async with lock:
            yield

    async def claim(self, tenant_id: str, email: str, owner: str) -> CustomerLink | None:
        """Claim the e-mail for ``owner``; returns the link when a debtor is already known
        (no claim needed then), None when the claim is ours. Raises ``CustomerBeingCreated``
        when someone else holds a live claim."""
        now = utcnow()
        async with self.database.session() as session:
            link = await session.get(CustomerLink, (tenant_id, email))
            if link is None:
                session.add(
                    CustomerLink(
                        tenant_id=tenant_id,
                        email=email,
                        claimed_by=owner,
                        lease_until=now + self.lease,
                    )
                )
                try:
                    await session.commit()
                except IntegrityError:
                    raise CustomerBeingCreated(email) from None
                return None
            if link.debtor_number:
                return link
            if link.claimed_by != owner and _aware(link.lease_until) > now:
                raise CustomerBeingCreated(email)
            # Ours already (a redelivery), or a lapsed claim: take it over, but only if nobody
            # else took it over since we read it (compare-and-set on the old claim).
            table = CustomerLink.__table__  # type: ignore[attr-defined]
            result = await session.execute(
                sa.update(table)
                .where(
                    table.c.tenant_id == tenant_id,
                    table.c.email == email,
                    table.c.claimed_by.is_(None)
                    if link.claimed_by is None
                    else table.c.claimed_by == link.claimed_by,
                    table.c.debtor_number.is_(None),
                )
                .values(claimed_by=owner, lease_until=now + self.lease)
            )
            await session.commit()
            if int(getattr(result, "rowcount", 0) or 0) != 1:
                raise CustomerBeingCreated(email)
            return None

    async def settle(
        self, tenant_id: str, email: str, number: str, source_id: str, digest: str
    ) -> None:
        """Record the debtor right after AccountView has it, in its own short transaction and
        before the handler's commit, so whoever waits on the claim finds it at once. Safe
        because the link only mirrors AccountView: if the handler's commit is then lost,
        the redelivery finds the link and answers from it."""
        async with self.database.session() as session:
            await _settle_row(session, tenant_id, email, number, source_id, digest)
            await session.commit()

    async def renew(self, tenant_id: str, email: str, owner: str) -> bool:
        """Push our claim's lease out while AccountView works; False if it is no longer ours."""
        table = CustomerLink.__table__  # type: ignore[attr-defined]
        async with self.database.session() as session:
            result = await session.execute(
                sa.update(table)
                .where(
                    table.c.tenant_id == tenant_id,
                    table.c.email == email,
                    table.c.claimed_by == owner,
                    table.c.debtor_number.is_(None),
                )
                .values(lease_until=utcnow() + self.lease)
            )
            await session.commit()
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def release(self, tenant_id: str, email: str, owner: str) -> None:
        """Give up our claim (the debtor could not be made), so the next one need not wait."""
        table = CustomerLink.__table__  # type: ignore[attr-defined]
        async with self.database.session() as session:
            await session.execute(
                sa.delete(table).where(
                    table.c.tenant_id == tenant_id,
                    table.c.email == email,
                    table.c.claimed_by == owner,
                    table.c.debtor_number.is_(None),
                )
            )
            await session.commit()


async def _settle_row(
    session: AsyncSession, tenant_id: str, email: str, number: str, source_id: str, digest: str
) -> None:
    link = await session.get(CustomerLink, (tenant_id, email))
    if link is None:
        link = CustomerLink(tenant_id=tenant_id, email=email)
    link.debtor_number, link.source_id, link.fields_hash = number, source_id, digest
    link.claimed_by, link.lease_until, link.updated_at = None, None, utcnow()
    session.add(link)


def _aware(stamp: datetime | None) -> datetime:
    if stamp is None:
        return datetime.min.replace(tzinfo=utcnow().tzinfo)
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=utcnow().tzinfo)
