"""The FastAPI application around one runtime (distributed) or many (embedded).

Both shapes expose the same operational routes: ``/healthz`` (the process is alive),
``/readyz`` (every database answers and ``bus.healthy()``; 503 otherwise), ``/metrics``
(Prometheus text), and answer errors as RFC 9457 problem documents (``problems.py``).

Route namespaces never collide, so the embedded app can mount every service's routers
unchanged: a service's own routes live under ``/internal/<service>/...`` (called by the
gateway and the CLI with the service token, see ``require_service_token``), and only the
gateway serves the public ``/v1/...`` API.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response

from koppel.common.logging import configure_logging
from koppel.common.metrics import render_latest
from koppel.common.problems import Problem, install_problem_handlers, problem_response
from koppel.common.runtime import RuntimeGroup, ServiceRuntime
from koppel.common.settings import KoppelSettings
from koppel.common.telemetry import instrument_fastapi, setup_telemetry


def create_service_app(runtime: ServiceRuntime, *, title: str | None = None) -> FastAPI:
    """One service in its own process: the lifespan starts and stops ``runtime``."""
    setup_telemetry(runtime.name, runtime.settings)
    return _build(
        title=title or f"koppel-{runtime.name}",
        name=runtime.name,
        settings=runtime.settings,
        routers=runtime.routers(),
        start=runtime.start,
        stop=runtime.stop,
        ready=runtime.ready,
    )


def create_embedded_app(
    group: RuntimeGroup,
    *,
    title: str = "koppel",
    extra_routers: Sequence[APIRouter] = (),
) -> FastAPI:
    """All services in one process on one bus: every runtime's routers in one app."""
    for runtime in group.runtimes:
        setup_telemetry(runtime.name, runtime.settings)
    settings = group.runtimes[0].settings if group.runtimes else KoppelSettings()
    routers = [r for runtime in group.runtimes for r in runtime.routers()]
    return _build(
        title=title,
        name=title,
        settings=settings,
        routers=[*routers, *extra_routers],
        start=group.start,
        stop=group.stop,
        ready=group.ready,
    )


def _build(
    *,
    title: str,
    name: str,
    settings: KoppelSettings,
    routers: Sequence[APIRouter],
    start: Callable[[], Awaitable[None]],
    stop: Callable[[], Awaitable[None]],
    ready: Callable[[], Awaitable[bool]],
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level, json_lines=settings.log_json)
        await start()
        try:
            yield
        finally:
            await stop()

    app = FastAPI(title=title, lifespan=lifespan)
    install_problem_handlers(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False, response_model=None)
    async def readyz() -> Any:
        """Databases reachable and bus healthy."""
        if await ready():
            return {"status": "ready"}
        return problem_response(503, detail="database or bus not reachable")

    @app.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        """Prometheus exposition text."""
        body, content_type = render_latest()
        return Response(content=body, media_type=content_type)

    for router in routers:
        app.include_router(router)
    instrument_fastapi(app, name)
    return app


def require_service_token(settings: KoppelSettings) -> Callable[[Request], Awaitable[None]]:
    """A dependency for internal routes: ``Authorization: Bearer <KOPPEL_SERVICE_TOKEN>``."""
    expected = settings.service_token.get_secret_value().encode()

    async def check(request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected):
            raise Problem(
                401, "a valid service token is required", headers={"WWW-Authenticate": "Bearer"}
            )

    return check
