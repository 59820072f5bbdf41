"""create_app / serve for the AccountView.net web API v3 sandbox."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from koppel.sandbox.accountview.admin import sandbox_router
from koppel.sandbox.accountview.api import api_router
from koppel.sandbox.accountview.errors import AccountViewError, error_body
from koppel.sandbox.accountview.middleware import (
    CaseFoldMiddleware,
    RelayMiddleware,
    is_api_path,
)
from koppel.sandbox.accountview.runtime import Runtime
from koppel.sandbox.accountview.settings import AccountViewSandboxSettings
from koppel.sandbox.common import FaultResponses, admin_router, install
from koppel.sandbox.common import serve as serve_app


def _responses() -> FaultResponses:
    def server_error() -> Response:
        return JSONResponse(error_body("Er is een interne fout opgetreden"), status_code=500)

    def rate_limited(retry: int) -> Response:
        return JSONResponse(
            error_body("Te veel verzoeken; probeer het later opnieuw"),
            status_code=429,
            headers={"Retry-After": str(retry)},
        )

    return FaultResponses(server_error=server_error, rate_limited=rate_limited)


def create_app(settings: AccountViewSandboxSettings | None = None) -> FastAPI:
    runtime = Runtime(settings or AccountViewSandboxSettings())
    app = FastAPI(title="AccountView.net web API v3 (Koppel sandbox)", version="3")
    app.state.runtime = runtime

    @app.exception_handler(AccountViewError)
    async def av_error(_: Request, exc: AccountViewError) -> Response:
        status = exc.status_code
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if runtime.knobs.errors_with_status_200 and status == 400:
            status = 200
        return JSONResponse(exc.body(), status_code=status, headers=headers)

    # Our own /_sandbox routes first: GET /_sandbox/requests adds per-business-object counts.
    app.include_router(sandbox_router(runtime))
    app.include_router(
        admin_router(faults=runtime.faults, requests=runtime.requests, clock=runtime.clock)
    )
    app.include_router(api_router(runtime))
    # Middleware: added first = innermost. Relay knobs, then (common) faults and request log,
    # then the case folding of paths outermost so the log sees the routed path.
    app.add_middleware(RelayMiddleware, runtime=runtime)
    install(
        app,
        faults=runtime.faults,
        responses=_responses(),
        requests=runtime.requests,
        clock=runtime.clock,
        applies_to=is_api_path,
    )
    app.add_middleware(CaseFoldMiddleware, runtime=runtime)
    return app


def serve(
    settings: AccountViewSandboxSettings | None = None,
    host: str = "127.0.0.1",
    port: int = 8702,
    *,
    log_level: str = "info",
) -> None:
    """Serve the sandbox with uvicorn until interrupted (the CLI calls this)."""
    serve_app(create_app(settings), host, port, log_level=log_level)
