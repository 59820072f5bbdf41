"""Testing a connection end to end: credentials, a token, then reads against the API."""

from __future__ import annotations

from koppel.gateway.adapters.oauth import System
from koppel.gateway.errors import GatewayError
from koppel.gateway.schemas import ConnectionCheck, ConnectionTestResult
from koppel.gateway.service import connections, tokens
from koppel.gateway.service.context import Gateway


async def test_connection(gw: Gateway, tenant_id: str, system: System) -> ConnectionTestResult:
    async with gw.uow() as uow:
        row = await connections.require_connection(uow, tenant_id, system)
        configured = bool(row.client_id) and row.client_secret_enc is not None
    checks = [
        ConnectionCheck(
            name="credentials",
            ok=configured,
            detail="client id and secret are set"
            if configured
            else "set client_id and client_secret",
        )
    ]
    try:
        token = await tokens.current_token(gw, tenant_id, system)
    except GatewayError as exc:
        checks.append(
            ConnectionCheck(name="access token", ok=False, detail=exc.detail or exc.title)
        )
    else:
        checks.append(
            ConnectionCheck(
                name="access token", ok=True, detail=f"valid until {token.expires_at.isoformat()}"
            )
        )
        checks += await gw.probe.probe(
            system=system.value,
            api_base_url=token.api_base_url,
            access_token=token.access_token,
            company=token.company,
        )
    ok = all(check.ok for check in checks)
    async with gw.uow() as uow:
        row = await connections.require_connection(uow, tenant_id, system)
        if row.status != connections.NEEDS_CONSENT:
            failed = [c for c in checks if not c.ok]
            row.status = connections.CONNECTED if ok else connections.FAILING
            row.last_error = None if ok else f"{failed[0].name}: {failed[0].detail}"[:1000]
            row.updated_at = gw.clock()
            await uow.commit()
        status = row.status
    return ConnectionTestResult(system=system.value, ok=ok, status=status, checks=checks)
