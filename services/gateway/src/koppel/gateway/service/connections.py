"""Connections to the two APIs: settings, consent (OAuth code flow), status and tests."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col

from koppel.common.errors import KoppelError, PermanentError
from koppel.gateway import domain
from koppel.gateway.adapters.oauth import (
    ConsentRefused,
    OAuthEndpoints,
    System,
    TokenEndpointError,
    authorize_url,
    endpoints_for,
)
from koppel.gateway.config import (
    ACCOUNTVIEW_API_URL,
    ACCOUNTVIEW_AUTHORIZE_URL,
    EACCOUNTING_API_URL,
    EACCOUNTING_IDENTITY_URL,
)
from koppel.gateway.errors import InvalidInput, NotFound, UpstreamRejected, UpstreamUnavailable
from koppel.gateway.models import ConnectionRow, OAuthStateRow
from koppel.gateway.schemas import ConnectionPublic, ConnectionPut
from koppel.gateway.service.context import Gateway, new_id
from koppel.gateway.service.ports import UnitOfWork
from koppel.gateway.service.tenants import audit, config_changed, get_tenant

CONNECTED = "connected"
NEEDS_CONSENT = "needs_consent"
FAILING = "failing"

DEFAULT_URLS: dict[System, tuple[str, str]] = {
    System.eaccounting: (EACCOUNTING_API_URL, EACCOUNTING_IDENTITY_URL),
    System.accountview: (ACCOUNTVIEW_API_URL, ACCOUNTVIEW_AUTHORIZE_URL),
}


def parse_system(value: str) -> System:
    try:
        return System(value)
    except ValueError:
        raise NotFound(f"no system called {value!r}; use eaccounting or accountview") from None


async def find_connection(
    uow: UnitOfWork, tenant_id: str, system: System, *, for_update: bool = False
) -> ConnectionRow | None:
    stmt = sa.select(ConnectionRow).where(
        col(ConnectionRow.tenant_id) == tenant_id, col(ConnectionRow.system) == system.value
    )
    if for_update:
        # PostgreSQL: the row lock that makes refreshes single-flight across replicas.
        # SQLite ignores it (one writer; the in-process lock does the job there).
        stmt = stmt.with_for_update()
    return (
        await uow.session.execute(stmt.execution_options(populate_existing=True))
    ).scalar_one_or_none()


async def require_connection(uow: UnitOfWork, tenant_id: str, system: System) -> ConnectionRow:
    row = await find_connection(uow, tenant_id, system)
    if row is None:
        raise NotFound(f"the {system.value} connection is not configured")
    return row


def endpoints(row: ConnectionRow) -> OAuthEndpoints:
    return endpoints_for(
        System(row.system), api_base_url=row.api_base_url, auth_base_url=row.auth_base_url
    )


def public_view(gw: Gateway, system: System, row: ConnectionRow | None) -> ConnectionPublic:
    api, auth = DEFAULT_URLS[system]
    if row is None:
        return ConnectionPublic(
            system=system.value,
            status=NEEDS_CONSENT,
            last_error=None,
            api_base_url=api,
            auth_base_url=auth,
            redirect_uri=gw.settings.oauth_redirect_uri,
            client_id=None,
            company=None,
            has_client_secret=False,
            has_refresh_token=False,
            access_token_expires_at=None,
            last_refreshed_at=None,
            updated_at=None,
        )
    return ConnectionPublic(
        system=system.value,
        status=row.status,
        last_error=row.last_error,
        api_base_url=row.api_base_url,
        auth_base_url=row.auth_base_url,
        redirect_uri=row.redirect_uri or gw.settings.oauth_redirect_uri,
        client_id=row.client_id,
        company=row.company,
        has_client_secret=row.client_secret_enc is not None,
        has_refresh_token=row.refresh_token_enc is not None,
        access_token_expires_at=row.access_expires_at,
        last_refreshed_at=row.last_refreshed_at,
        updated_at=row.updated_at,
    )


async def put_connection(
    gw: Gateway, uow: UnitOfWork, tenant_id: str, system: System, data: ConnectionPut, actor: str
) -> ConnectionRow:
    await get_tenant(uow, tenant_id)
    now = gw.clock()
    row = await find_connection(uow, tenant_id, system)
    api, auth = DEFAULT_URLS[system]
    if row is None:
        row = ConnectionRow(
            id=new_id("con"),
            tenant_id=tenant_id,
            system=system.value,
            api_base_url=api,
            auth_base_url=auth,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(row)
    given = data.model_fields_set
    new_api = str(data.api_base_url).rstrip("/") if data.api_base_url else api
    new_auth = str(data.auth_base_url).rstrip("/") if data.auth_base_url else auth
    identity_changed = (new_api, new_auth, data.client_id) != (
        row.api_base_url,
        row.auth_base_url,
        row.client_id,
    )
    row.api_base_url, row.auth_base_url, row.client_id = new_api, new_auth, data.client_id
    row.redirect_uri = str(data.redirect_uri) if data.redirect_uri else None
    row.company = data.company
    if "client_secret" in given:
        row.client_secret_enc = gw.box.encrypt_optional(
            data.client_secret.get_secret_value() if data.client_secret else None
        )
        identity_changed = True
    if "refresh_token" in given:
        row.refresh_token_enc = gw.box.encrypt_optional(
            data.refresh_token.get_secret_value() if data.refresh_token else None
        )
        identity_changed = True
    if identity_changed:
        # A token minted for other credentials or another server must not be handed out.
        row.access_token_enc = None
        row.access_expires_at = None
        row.last_error = None
    if row.refresh_token_enc is None:
        row.status = NEEDS_CONSENT
    elif identity_changed or row.status == NEEDS_CONSENT:
        row.status = CONNECTED
    row.updated_at = now
    audit(uow, gw, tenant_id, actor, f"connection:{system.value}", "updated")
    config_changed(uow, tenant_id, f"connection:{system.value}")
    await uow.commit()
    return row


async def start_authorization(
    gw: Gateway, uow: UnitOfWork, tenant_id: str, system: System
) -> tuple[str, datetime]:
    row = await require_connection(uow, tenant_id, system)
    if not row.client_id:
        raise InvalidInput("set client_id on the connection first", field="client_id")
    state = domain.new_oauth_state()
    expires_at = gw.clock() + timedelta(seconds=gw.settings.oauth_state_ttl_seconds)
    uow.session.add(
        OAuthStateRow(
            state_hash=domain.sha256_hex(state),
            tenant_id=tenant_id,
            system=system.value,
            expires_at=expires_at,
        )
    )
    await uow.commit()
    url = authorize_url(
        endpoints(row),
        client_id=row.client_id,
        redirect_uri=row.redirect_uri or gw.settings.oauth_redirect_uri,
        state=state,
    )
    return url, expires_at


async def complete_authorization(
    gw: Gateway, uow: UnitOfWork, *, state: str, code: str
) -> ConnectionRow:
    """The OAuth callback: the state must be one we handed out, unexpired and unused."""
    now = gw.clock()
    pending = await uow.session.get(OAuthStateRow, domain.sha256_hex(state))
    if pending is None or pending.expires_at < now:
        raise InvalidInput(
            "the state is unknown, used or expired; start the authorization again", field="state"
        )
    # Used once: deleted in the same transaction that stores the tokens.
    await uow.session.delete(pending)
    system = System(pending.system)
    row = await require_connection(uow, pending.tenant_id, system)
    if not row.client_id or row.client_secret_enc is None:
        raise InvalidInput("the connection has no client id and secret", field="client_secret")
    try:
        tokens = await gw.oauth.exchange_code(
            endpoints(row),
            client_id=row.client_id,
            client_secret=gw.box.decrypt(row.client_secret_enc),
            code=code,
            redirect_uri=row.redirect_uri or gw.settings.oauth_redirect_uri,
            now=now,
        )
    except TokenEndpointError as exc:
        raise UpstreamUnavailable(exc.reason) from None
    except (ConsentRefused, PermanentError) as exc:
        raise UpstreamRejected(exc.reason) from None
    row.access_token_enc = gw.box.encrypt(tokens.access_token)
    row.access_expires_at = tokens.expires_at
    row.refresh_token_enc = gw.box.encrypt_optional(tokens.refresh_token)
    row.status, row.last_error, row.last_refreshed_at, row.updated_at = CONNECTED, None, now, now
    config_changed(uow, row.tenant_id, f"connection:{system.value}")
    await uow.commit()
    return row


def describe_failure(exc: KoppelError) -> str:
    return exc.reason[:1000]
