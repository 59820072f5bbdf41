"""Setting a tenant up the way a partner would: only through the gateway's public API.

The chaos killer may hit the gateway at any time, so every call goes through ``call``,
which retries connection errors and 5xx answers until a deadline (the gateway's own writes
are idempotent for what we send: PUTs replace, and a tenant is created before any kill).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx


class SetupError(RuntimeError):
    pass


async def call(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    ok: tuple[int, ...] = (200, 201, 202, 204),
    retry_on: tuple[int, ...] = (),
    deadline: float = 60.0,
    **kwargs: Any,
) -> httpx.Response:
    """One HTTP call that outlives a restart of the process it talks to."""
    give_up = time.monotonic() + deadline
    last = ""
    while True:
        try:
            response = await http.request(method, url, **kwargs)
            if response.status_code in ok:
                return response
            last = f"{response.status_code} {response.text[:300]}"
            if response.status_code < 500 and response.status_code not in retry_on:
                raise SetupError(f"{method} {url} -> {last}")
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__}: {exc}"
        if time.monotonic() > give_up:
            raise SetupError(f"{method} {url} kept failing: {last}")
        await asyncio.sleep(0.5)


@dataclass
class Tenant:
    id: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


def eaccounting_reset(*, seed: int, orders: int, articles: int) -> dict[str, int]:
    """The eAccounting sandbox's reset request for ``reset_sandboxes``' sizes (also used to
    reseed it the same way without its orders)."""
    return {"seed": seed, "orders": orders, "articles": max(1, min(articles, 100)), "customers": 80}


async def reset_sandboxes(
    http: httpx.AsyncClient, ea_url: str, av_url: str, *, seed: int, orders: int, articles: int
) -> dict[str, Any]:
    """Size both sandboxes: ``orders`` eAccounting orders, ``articles`` AccountView articles.

    eAccounting keeps only a slice of the catalogue (the articles its orders use) so that the
    products flow has most of the AccountView articles to create there; every ART-nnnn of
    eAccounting exists in AccountView too (same seed, same shared catalogue).
    """
    ea = await call(
        http,
        "POST",
        f"{ea_url}/_sandbox/reset",
        json=eaccounting_reset(seed=seed, orders=orders, articles=articles),
    )
    av = await call(
        http,
        "POST",
        f"{av_url}/_sandbox/reset",
        json={"seed": seed, "articles": articles, "companies": 1, "orders": 3, "debtors": 20},
    )
    return {"eaccounting": ea.json(), "accountview": av.json()}


async def create_tenant(http: httpx.AsyncClient, gateway: str, admin_key: str) -> Tenant:
    response = await call(
        http,
        "POST",
        f"{gateway}/v1/tenants",
        headers={"Authorization": f"Bearer {admin_key}"},
        json={"name": f"chaos {time.strftime('%H:%M:%S')}"},
    )
    body = response.json()
    return Tenant(id=body["tenant"]["id"], api_key=body["api_key"])


async def configure_tenant(
    http: httpx.AsyncClient,
    gateway: str,
    tenant: Tenant,
    *,
    ea_url: str,
    av_url: str,
    client_id: str,
    client_secret: str,
    batch_size: int,
) -> dict[str, Any]:
    """The demo tenant's configuration (``koppel.cli.demo.configure_tenant``: connections,
    mappings, value maps), with orders and products enabled for manual runs only, so the
    harness decides when a run starts; then both connection tests must pass."""
    from koppel.cli.demo import configure_tenant as configure_demo_tenant
    from koppel.cli.demo import flow_document

    flows = {
        "orders": flow_document("orders", schedule=None, settings={"batch_size": batch_size}),
        "products": flow_document("products", schedule=None),
    }
    await configure_demo_tenant(
        http,
        gateway,
        tenant.headers,
        ea_url=ea_url,
        av_url=av_url,
        flows=flows,
        client=(client_id, client_secret),
    )
    checks = {}
    for system in ("eaccounting", "accountview"):
        result = await call(
            http, "POST", f"{gateway}/v1/connections/{system}/test", headers=tenant.headers
        )
        checks[system] = result.json()
        if not checks[system].get("ok"):
            raise SetupError(f"the {system} connection test failed: {checks[system]}")
    return checks
