"""Property-based run of the gateway's OpenAPI document (schemathesis): for a bounded,
derandomized set of generated requests per operation, no 5xx and every answer conforms to
what the document says. The gateway runs embedded with the mapper and the notifier (the
forwarded routes answer for real) behind a uvicorn server on a free port."""

from __future__ import annotations

import asyncio
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import ADMIN_KEY
from .test_forwarded import embedded

MAX_EXAMPLES = 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # run in a thread: no signal handlers
        pass


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from koppel.common.bus.memory import InMemoryBus

    tmp: Path = tmp_path_factory.mktemp("schemathesis")
    holder: dict[str, Any] = {}
    port = _free_port()
    servers: list[Server] = []

    async def serve() -> None:
        # Built inside the server's loop: the bus and databases belong to that loop.
        app, _ = embedded(tmp, InMemoryBus())
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
        servers.append(Server(config))
        await servers[0].serve()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not (servers and servers[0].started):
        assert time.monotonic() < deadline and thread.is_alive(), "the gateway did not start"
        time.sleep(0.05)
    server = servers[0]
    url = f"http://127.0.0.1:{port}"
    created = httpx.post(
        f"{url}/v1/tenants",
        json={"name": "Schemathesis"},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert created.status_code == 201, created.text
    holder.update(url=url, tenant_key=created.json()["api_key"])
    try:
        yield holder
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def _document() -> dict[str, Any]:
    """The document the running app serves (building the app starts nothing)."""
    from koppel.common.bus.memory import InMemoryBus

    with tempfile.TemporaryDirectory() as tmp:
        app, runtimes = embedded(Path(tmp), InMemoryBus())
        document: dict[str, Any] = app.openapi()
    return document


# (schemathesis.pytest.from_fixture fails on this pytest: "'Function' object has no
# attribute '_nodeid'"; the document does not depend on the server, so load it up front.)
schema = schemathesis.openapi.from_dict(_document()).include(path_regex="^/v1/")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_gateway_conforms_to_its_openapi_document(case: Any, gateway: dict[str, Any]) -> None:
    admin = case.path.startswith("/v1/tenants")
    key = ADMIN_KEY if admin else gateway["tenant_key"]
    case.call_and_validate(
        base_url=gateway["url"],
        headers={"Authorization": f"Bearer {key}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
