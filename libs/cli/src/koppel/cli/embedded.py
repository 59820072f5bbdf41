"""``koppel up``: every service in one process on one in-process bus (embedded default).

Each service keeps its own SQLite file under the data directory (its "schema"); the gateway
serves the public API; the two bundled sandboxes run beside it so a fresh machine has
something to sync, and a demo tenant is wired to them on first start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path

import uvicorn

from koppel.cli.services import SERVICE_NAMES, service_module

log = logging.getLogger("koppel.cli")

EACCOUNTING_SANDBOX_PORT = 8701
ACCOUNTVIEW_SANDBOX_PORT = 8702


def _server(app: object, host: str, port: int) -> uvicorn.Server:
    config = uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="on")  # type: ignore[arg-type]
    return uvicorn.Server(config)


def build_embedded_app(data_dir: Path, gateway_url: str) -> object:
    """The one FastAPI app holding all six services on a shared in-process bus."""
    from koppel.common.app import create_embedded_app
    from koppel.common.bus.memory import InMemoryBus
    from koppel.common.runtime import RuntimeGroup

    data_dir.mkdir(parents=True, exist_ok=True)
    # Settings are read from the environment by every service; the CLI's options win over
    # nothing the user set explicitly.
    os.environ.setdefault("KOPPEL_DATA_DIR", str(data_dir))
    os.environ.setdefault("KOPPEL_GATEWAY_URL", gateway_url)
    # Without KOPPEL_ADMIN_API_KEY the gateway would have no admin: use (or make) the one
    # kept in the data dir; the demo set-up prints it once.
    from koppel.cli.demo import admin_api_key

    os.environ.setdefault("KOPPEL_ADMIN_API_KEY", admin_api_key(data_dir))
    bus = InMemoryBus()
    runtimes = [service_module(name).create_runtime(bus=bus) for name in SERVICE_NAMES]
    app = create_embedded_app(RuntimeGroup(runtimes, bus))
    # The gateway forwards /v1/mappings, /v1/activity, ... to services mounted in this very
    # app: route those calls in-process rather than through the network.
    import httpx

    gateway = next(r for r in runtimes if r.name == "gateway")
    gateway.context.deps["gateway.services_transport"] = httpx.ASGITransport(app=app)
    return app


def _sandbox_servers(host: str) -> list[uvicorn.Server]:
    from koppel.sandbox.accountview.app import create_app as accountview_app
    from koppel.sandbox.eaccounting.app import create_app as eaccounting_app

    return [
        _server(eaccounting_app(), host, EACCOUNTING_SANDBOX_PORT),
        _server(accountview_app(), host, ACCOUNTVIEW_SANDBOX_PORT),
    ]


async def _wait_started(server: uvicorn.Server, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event for this
            await asyncio.sleep(0.05)


async def run_embedded(*, host: str, port: int, data_dir: Path, with_sandboxes: bool) -> None:
    gateway_url = f"http://{host}:{port}"
    servers = [_server(build_embedded_app(data_dir, gateway_url), host, port)]
    if with_sandboxes:
        servers.extend(_sandbox_servers(host))
    tasks = [asyncio.create_task(s.serve()) for s in servers]
    with contextlib.suppress(Exception):
        await asyncio.gather(*(_wait_started(s) for s in servers))
    if all(s.started for s in servers) and with_sandboxes:
        from koppel.cli.demo import ensure_demo_tenant

        try:
            await ensure_demo_tenant(
                gateway_url=gateway_url,
                data_dir=data_dir,
                eaccounting_url=f"http://{host}:{EACCOUNTING_SANDBOX_PORT}",
                accountview_url=f"http://{host}:{ACCOUNTVIEW_SANDBOX_PORT}",
            )
        except Exception:  # the platform keeps running; the user can set up by hand
            log.exception("could not set up the demo tenant")
    # One Ctrl-C stops every server: uvicorn re-raises the captured signal on exit, which
    # reaches the next server's handler in turn.
    await asyncio.gather(*tasks)
