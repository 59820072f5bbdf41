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
import signal
from collections.abc import Iterator
from pathlib import Path

import uvicorn

from koppel.cli.services import SERVICE_NAMES, service_module

log = logging.getLogger("koppel.cli")

EACCOUNTING_SANDBOX_PORT = 8701
ACCOUNTVIEW_SANDBOX_PORT = 8702
BUS_JOURNAL = "bus.db"  # the embedded bus's journal, in the data directory


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to ``run_embedded``.

    Each ``uvicorn.Server.serve`` swaps in its own SIGINT/SIGTERM handler and re-raises the
    signal on exit; with three servers in one loop only the last one heard it, and a SIGTERM
    re-raised at the end killed the process instead of letting it exit cleanly.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _server(app: object, host: str, port: int) -> uvicorn.Server:
    config = uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="on")  # type: ignore[arg-type]
    return _Server(config)


@contextlib.contextmanager
def _stop_on_signals(servers: list[uvicorn.Server]) -> Iterator[None]:
    """SIGINT or SIGTERM asks the platform (``servers[0]``) to shut down gracefully; ``_serve``
    stops the sandboxes after it. A second signal forces every server out."""
    loop = asyncio.get_running_loop()

    def stop() -> None:
        if not servers[0].should_exit:
            servers[0].should_exit = True
            return
        for server in servers:
            server.should_exit = server.force_exit = True

    handled = (signal.SIGINT, signal.SIGTERM)
    for sig in handled:
        loop.add_signal_handler(sig, stop)
    try:
        yield
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)


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
    # The broker's SQLite journal makes the one process crash-safe (DESIGN.md section 1): a
    # publish is confirmed once journaled, and a restart delivers again what was in flight.
    bus = InMemoryBus(journal=data_dir / BUS_JOURNAL)
    runtimes = [service_module(name).create_runtime(bus=bus) for name in SERVICE_NAMES]
    app = create_embedded_app(RuntimeGroup(runtimes, bus))
    # The gateway forwards /v1/mappings, /v1/activity, ... to services mounted in this very
    # app: route those calls in-process rather than through the network.
    import httpx

    gateway = next(r for r in runtimes if r.name == "gateway")
    gateway.context.deps["gateway.services_transport"] = httpx.ASGITransport(app=app)
    return app


def _sandbox_servers(
    host: str,
    eaccounting_port: int = EACCOUNTING_SANDBOX_PORT,
    accountview_port: int = ACCOUNTVIEW_SANDBOX_PORT,
) -> list[uvicorn.Server]:
    from koppel.sandbox.accountview.app import create_app as accountview_app
    from koppel.sandbox.eaccounting.app import create_app as eaccounting_app

    return [
        _server(eaccounting_app(), host, eaccounting_port),
        _server(accountview_app(), host, accountview_port),
    ]


async def _wait_started(server: uvicorn.Server, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event for this
            await asyncio.sleep(0.05)


async def run_embedded(
    *,
    host: str,
    port: int,
    data_dir: Path,
    with_sandboxes: bool,
    eaccounting_port: int = EACCOUNTING_SANDBOX_PORT,
    accountview_port: int = ACCOUNTVIEW_SANDBOX_PORT,
) -> None:
    gateway_url = f"http://{host}:{port}"
    servers = [_server(build_embedded_app(data_dir, gateway_url), host, port)]
    if with_sandboxes:
        servers.extend(_sandbox_servers(host, eaccounting_port, accountview_port))
    with _stop_on_signals(servers):
        await _serve(
            servers,
            host=host,
            gateway_url=gateway_url,
            data_dir=data_dir,
            with_sandboxes=with_sandboxes,
            eaccounting_port=eaccounting_port,
            accountview_port=accountview_port,
        )


async def _serve(
    servers: list[uvicorn.Server],
    *,
    host: str,
    gateway_url: str,
    data_dir: Path,
    with_sandboxes: bool,
    eaccounting_port: int,
    accountview_port: int,
) -> None:
    tasks = [asyncio.create_task(s.serve()) for s in servers]
    with contextlib.suppress(Exception):
        await asyncio.gather(*(_wait_started(s) for s in servers))
    if all(s.started for s in servers) and with_sandboxes:
        from koppel.cli.demo import ensure_demo_tenant

        demo = asyncio.create_task(
            ensure_demo_tenant(
                gateway_url=gateway_url,
                data_dir=data_dir,
                eaccounting_url=f"http://{host}:{eaccounting_port}",
                accountview_url=f"http://{host}:{accountview_port}",
            )
        )
        # A stop signal during the set-up ends the platform: the set-up would otherwise retry
        # its calls against the closed gateway for a minute before the sandboxes stop.
        await asyncio.wait({demo, tasks[0]}, return_when=asyncio.FIRST_COMPLETED)
        demo.cancel()
        try:
            await demo
        except asyncio.CancelledError:
            log.warning("demo tenant set-up interrupted by shutdown")
        except Exception:  # the platform keeps running; the user can set up by hand
            log.exception("could not set up the demo tenant")
    # SIGINT/SIGTERM stop the platform first (_stop_on_signals): its in-flight handlers finish
    # while the sandboxes still answer (stopped together, they retried against closed ports
    # and the shutdown never ended). Then the sandboxes; serve() returns, the process exits 0.
    try:
        await tasks[0]
    finally:
        for server in servers[1:]:
            server.should_exit = True
        await asyncio.gather(*tasks)
