"""Running a sandbox app: in the foreground (the CLI) or in a background thread (tests)."""

from __future__ import annotations

import logging
import threading
import time
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp

from koppel.sandbox.common.faults import InjectedDrop


class _HideInjectedDrops(logging.Filter):
    """uvicorn logs every exception as "Exception in ASGI application"; an injected drop is
    not an error of the sandbox, so keep it out of the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], InjectedDrop))


def quiet_injected_drops() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideInjectedDrops) for f in logger.filters):
        logger.addFilter(_HideInjectedDrops())


def serve(
    app: ASGIApp, host: str = "127.0.0.1", port: int = 8700, *, log_level: str = "info"
) -> None:
    """Serve ``app`` with uvicorn until interrupted (blocking).

    No WebSocket protocol (the sandboxes have no WebSocket routes): uvicorn would otherwise
    look for one at start.
    """
    quiet_injected_drops()
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=log_level == "debug",
        ws="none",
    )


class ServerThread:
    """A real uvicorn server in a daemon thread; ``port=0`` picks a free port.

    Usage::

        with ServerThread(app) as server:
            httpx.get(f"{server.base_url}/v2/countries")
    """

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> None:
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        quiet_injected_drops()
        self.host = host
        self.port = port
        self._thread = threading.Thread(target=self.server.run, name="sandbox-server", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("sandbox server did not start")
            time.sleep(0.01)
        sockets = [s for server in self.server.servers for s in server.sockets]
        self.port = int(sockets[0].getsockname()[1])
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
