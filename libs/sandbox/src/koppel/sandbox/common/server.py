"""Running a sandbox app: in the foreground (the CLI) or in a background thread (tests)."""

from __future__ import annotations

import threading
import time
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp


def serve(
    app: ASGIApp, host: str = "127.0.0.1", port: int = 8700, *, log_level: str = "info"
) -> None:
    """Serve ``app`` with uvicorn until interrupted (blocking)."""
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=log_level == "debug")


class ServerThread:
    """A real uvicorn server in a daemon thread; ``port=0`` picks a free port.

    Usage::

        with ServerThread(app) as server:
            httpx.get(f"{server.base_url}/v2/countries")
    """

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> None:
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
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
