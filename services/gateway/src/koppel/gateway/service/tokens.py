"""Handing out access tokens, refreshing them single-flight (DESIGN.md section 5).

eAccounting refresh tokens are single use: two refreshes racing with the same one break the
tenant's connection for good. So a refresh happens only while holding

1. the in-process lock of the connection (waiters queue here, not on the database), and
2. the connection's row lock (``SELECT ... FOR UPDATE`` on PostgreSQL), so replicas queue too,

and, once holding both, the row is read again: whoever waited finds the token the first one
stored and does not refresh. The rotated refresh token is stored in the same transaction that
held the lock, so no refresh token is ever used twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from koppel.common.errors import PermanentError
from koppel.common.events import ConnectionNeedsConsent
from koppel.gateway import domain
from koppel.gateway.adapters.oauth import ConsentRefused, System, TokenEndpointError
from koppel.gateway.errors import NeedsConsent, NotFound, UpstreamRejected, UpstreamUnavailable
from koppel.gateway.models import ConnectionRow
from koppel.gateway.service import connections
from koppel.gateway.service.context import Gateway
from koppel.gateway.service.ports import UnitOfWork
from koppel.gateway.service.tenants import config_changed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IssuedToken:
    system: str
    access_token: str = field(repr=False)
    expires_at: datetime
    api_base_url: str
    company: str | None


def _usable(gw: Gateway, row: ConnectionRow, rejected: str | None) -> IssuedToken | None:
    if row.access_token_enc is None or row.access_expires_at is None:
        return None
    if row.access_expires_at - gw.clock() <= timedelta(
        seconds=gw.settings.token_refresh_skew_seconds
    ):
        return None
    token = gw.box.decrypt(row.access_token_enc)
    if rejected is not None and domain.constant_time_equal(
        domain.sha256_hex(token), domain.sha256_hex(rejected)
    ):
        return None  # the caller saw the API refuse this very token
    return IssuedToken(row.system, token, row.access_expires_at, row.api_base_url, row.company)


async def current_token(
    gw: Gateway, tenant_id: str, system: System, *, rejected: str | None = None
) -> IssuedToken:
    """A token the API should accept, refreshing it first when it is (nearly) expired or
    when the caller reports that the API ``rejected`` it."""
    async with gw.uow() as uow:
        row = await connections.require_connection(uow, tenant_id, system)
        issued = _usable(gw, row, rejected)
        if issued is not None:
            return issued
    async with gw.locks.get(f"{tenant_id}:{system.value}"):
        return await _refresh_locked(gw, tenant_id, system, rejected)


async def _refresh_locked(
    gw: Gateway, tenant_id: str, system: System, rejected: str | None
) -> IssuedToken:
    async with gw.uow() as uow:
        row = await connections.find_connection(uow, tenant_id, system, for_update=True)
        if row is None:
            raise NotFound(f"the {system.value} connection is not configured")
        issued = _usable(gw, row, rejected)
        if issued is not None:
            return issued  # another request (or replica) refreshed while we waited
        if row.refresh_token_enc is None or row.client_id is None or row.client_secret_enc is None:
            raise NeedsConsent(
                f"the {system.value} connection has no consent yet; authorize it first"
            )
        now = gw.clock()
        try:
            tokens = await gw.oauth.refresh(
                connections.endpoints(row),
                client_id=row.client_id,
                client_secret=gw.box.decrypt(row.client_secret_enc),
                refresh_token=gw.box.decrypt(row.refresh_token_enc),
                now=now,
            )
        except ConsentRefused as exc:
            row.status, row.last_error = connections.NEEDS_CONSENT, exc.reason
            row.refresh_token_enc = row.access_token_enc = None
            row.access_expires_at, row.updated_at = None, now
            uow.publish(
                ConnectionNeedsConsent(tenant_id=tenant_id, system=system.value, reason=exc.reason)
            )
            config_changed(uow, tenant_id, f"connection:{system.value}")
            await uow.commit()
            log.warning("refresh refused", extra={"tenant_id": tenant_id, "system": system.value})
            raise NeedsConsent(exc.reason) from None
        except TokenEndpointError as exc:
            await _mark_failing(uow, row, exc.reason, now)
            raise UpstreamUnavailable(exc.reason) from None
        except PermanentError as exc:
            await _mark_failing(uow, row, exc.reason, now)
            raise UpstreamRejected(exc.reason) from None
        row.access_token_enc = gw.box.encrypt(tokens.access_token)
        row.access_expires_at = tokens.expires_at
        if tokens.refresh_token is not None:  # rotated: the old one is spent
            row.refresh_token_enc = gw.box.encrypt(tokens.refresh_token)
        was_failing = row.status != connections.CONNECTED
        row.status, row.last_error = connections.CONNECTED, None
        row.last_refreshed_at, row.updated_at = now, now
        row.refresh_count += 1
        if was_failing:
            config_changed(uow, tenant_id, f"connection:{system.value}")
        await uow.commit()
    if gw.on_refresh is not None:
        gw.on_refresh(tenant_id, system.value)
    return IssuedToken(
        system.value, tokens.access_token, tokens.expires_at, row.api_base_url, row.company
    )


async def _mark_failing(uow: UnitOfWork, row: ConnectionRow, reason: str, now: datetime) -> None:
    row.status, row.last_error, row.updated_at = connections.FAILING, reason[:1000], now
    await uow.commit()
