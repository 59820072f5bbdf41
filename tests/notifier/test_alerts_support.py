"""Support for the alert tests (no tests here): real receivers for alert tests: an SMTP server
webhook receiver (http.server in a thread), both on 127.0.0.1 with a free port; a notifier
with an injected clock and tenant settings."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message as MailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography.fernet import Fernet

from koppel.common.app import create_service_app
from koppel.common.bus.memory import InMemoryBus
from koppel.common.db import Database
from koppel.common.messages import utcnow
from koppel.common.runtime import ServiceRuntime
from koppel.notifier.adapters.preferences import Preferences
from koppel.notifier.alerts import runner
from koppel.notifier.app import SPEC
from koppel.notifier.config import NotifierSettings

SERVICE_TOKEN = "notifier-alert-test-token"
SMTP_USER = "alerts"
SMTP_PASSWORD = "smtp-pass-7f3a9c"
WEBHOOK_SECRET = "whsec-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class _MailHandler:
    def __init__(self) -> None:
        self.messages: list[MailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


def _authenticator(
    _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any
) -> AuthResult:
    ok = (
        isinstance(data, LoginPassword)
        and data.login == SMTP_USER.encode()
        and data.password == SMTP_PASSWORD.encode()
    )
    return AuthResult(success=ok)


@asynccontextmanager
async def smtp_server() -> AsyncIterator[tuple[_MailHandler, int]]:
    handler = _MailHandler()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticator,
        auth_require_tls=False,
    )
    await asyncio.to_thread(controller.start)
    try:
        yield handler, port
    finally:
        await asyncio.to_thread(controller.stop)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class WebhookReceiver:
    url: str
    received: list[Received] = field(default_factory=list)
    # Status codes to answer, in order; 200 once they run out.
    plan: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def json(self, index: int) -> Any:
        return json.loads(self.received[index].body)


@asynccontextmanager
async def webhook_receiver() -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                status = receiver.plan.pop(0) if receiver.plan else 200
                receiver.received.append(Received(dict(self.headers.items()), body, status))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/koppel"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass
class Alerting:
    runtime: ServiceRuntime
    bus: InMemoryBus
    http: httpx.AsyncClient
    tenant_settings: dict[str, dict[str, Any]]
    settings: NotifierSettings

    @property
    def ctx(self) -> Any:
        return self.runtime.context


@asynccontextmanager
async def alerting(
    tmp_path: Path,
    clock: Callable[[], datetime] = utcnow,
    *,
    database_url: str | None = None,
    **overrides: Any,
) -> AsyncIterator[Alerting]:
    """A notifier on SQLite, or on a fresh PostgreSQL schema when ``database_url`` is given."""
    options: dict[str, Any] = {
        "data_dir": tmp_path,
        "time_scale": 0.001,
        "relay_poll_interval": 0.05,
        "service_token": SERVICE_TOKEN,
        "purge_interval_seconds": 3600,
        "alert_check_seconds": 1e9,  # tests call runner.tick themselves
        "alert_retry_delays": (20.0, 40.0, 80.0),
        "alert_public_base_url": "https://app.koppel.test",
        "encryption_keys": Fernet.generate_key().decode(),
        # The test receivers listen on 127.0.0.1, which production refuses (SSRF guard).
        "alert_webhook_allow_private": True,
    }
    options.update(overrides)
    settings = NotifierSettings(**options)
    bus = InMemoryBus()
    documents: dict[str, dict[str, Any]] = {}

    async def preferences(_tenant_id: str) -> Preferences:
        return Preferences()

    async def tenant_settings(tenant_id: str) -> dict[str, Any]:
        return documents.get(tenant_id, {"tenant": {"id": tenant_id}, "flows": {}})

    database = None
    if database_url is not None:
        schema = f"t_alerts_{uuid4().hex[:12]}"
        database = Database(database_url, service=SPEC.name, tables=SPEC.all_tables, schema=schema)
    runtime = ServiceRuntime(SPEC, bus=bus, settings=settings, database=database)
    runtime.context["preferences"] = preferences
    runtime.context[runner.CLOCK] = clock
    runtime.context[runner.TENANT_SETTINGS] = tenant_settings
    app = create_service_app(runtime)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://notifier.test",
        headers={"Authorization": f"Bearer {SERVICE_TOKEN}"},
    )
    try:
        yield Alerting(runtime, bus, http, documents, settings)
    finally:
        await http.aclose()
        await lifespan.__aexit__(None, None, None)
        if database is not None:
            await database.drop_schema()
            await database.dispose()


async def wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def post(a: Alerting, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await a.http.post(f"/internal/notifier/tenants{path}", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def deliveries(a: Alerting, tenant: str, **params: Any) -> list[dict[str, Any]]:
    response = await a.http.get(
        f"/internal/notifier/tenants/{tenant}/alert-deliveries", params={"limit": 500, **params}
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items
