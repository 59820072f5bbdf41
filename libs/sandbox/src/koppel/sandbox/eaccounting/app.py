"""``create_app(settings)`` builds the eAccounting sandbox; ``serve(settings, host, port)`` runs it."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from fastapi import FastAPI

from koppel.sandbox.common import (
    FaultInjector,
    FaultResponses,
    RateLimiter,
    RequestLog,
    SandboxClock,
    admin_router,
    install,
)
from koppel.sandbox.common import serve as serve_app
from koppel.sandbox.eaccounting import errors
from koppel.sandbox.eaccounting.admin import ResetRequest, add_eaccounting_admin
from koppel.sandbox.eaccounting.api import Api, install_api
from koppel.sandbox.eaccounting.auth import TokenService, identity_router
from koppel.sandbox.eaccounting.seed import build_dataset
from koppel.sandbox.eaccounting.settings import EAccountingSandboxSettings, SeedSizes
from koppel.sandbox.eaccounting.store import Store

T = TypeVar("T")


class SandboxHandles:
    """What tests may reach into: ``app.state.sandbox``."""

    def __init__(self, settings: EAccountingSandboxSettings) -> None:
        self.settings = settings
        self.clock = SandboxClock(settings.start_time, time_scale=settings.time_scale)
        self.store = Store(clock=self.clock)
        self.faults = FaultInjector(settings.faults)
        self.requests = RequestLog()
        self.limiter = RateLimiter(
            self.clock, limit=settings.rate_limit, window_seconds=settings.rate_window_seconds
        )
        self.tokens = TokenService(settings, self.clock)
        self.api = Api(self.store, self.tokens, self.limiter, settings)

    def reset(self, request: ResetRequest) -> dict[str, int]:
        base = self.settings
        sizes = SeedSizes(
            customers=_pick(request.customers, base.sizes.customers),
            articles=_pick(request.articles, base.sizes.articles),
            unknown_articles=_pick(request.unknown_articles, base.sizes.unknown_articles),
            orders=_pick(request.orders, base.sizes.orders),
        )
        self.seed(
            seed=_pick(request.seed, base.seed),
            sizes=sizes,
            empty=_pick(request.empty, base.empty),
            stock_module=_pick(request.stock_module, base.stock_module),
        )
        return {name: len(items) for name, items in self.store.data.items()}

    def seed(
        self,
        *,
        seed: int,
        sizes: SeedSizes,
        empty: bool,
        stock_module: bool,
        now: datetime | None = None,
    ) -> None:
        dataset = build_dataset(
            seed, sizes, now=now or self.clock.now(), empty=empty, stock_module=stock_module
        )
        self.store.replace(dataset.store.data_as_lists(), dataset.store.company)


def _pick(value: T | None, default: T) -> T:
    return default if value is None else value


def create_app(settings: EAccountingSandboxSettings | None = None) -> FastAPI:
    settings = settings or EAccountingSandboxSettings()
    handles = SandboxHandles(settings)
    handles.seed(
        seed=settings.seed,
        sizes=settings.sizes,
        empty=settings.empty,
        stock_module=settings.stock_module,
    )
    app = FastAPI(
        title="Visma eAccounting API v2 sandbox (Koppel)",
        description="A local imitation of eaccountingapi.vismaonline.com/v2 and identity.vismaonline.com.",
        version="2",
    )
    app.state.sandbox = handles
    errors.install_error_handlers(app)
    install_api(app, handles.api)
    app.include_router(identity_router(handles.tokens))
    admin = admin_router(faults=handles.faults, requests=handles.requests, clock=handles.clock)
    add_eaccounting_admin(
        admin, api=handles.api, tokens=handles.tokens, limiter=handles.limiter, reset=handles.reset
    )
    app.include_router(admin)
    responses = FaultResponses(
        server_error=errors.server_error,
        rate_limited=lambda retry: errors.rate_limited(
            handles.limiter.limit, handles.limiter.window_seconds, retry
        ),
    )
    install(
        app,
        faults=handles.faults,
        responses=responses,
        requests=handles.requests,
        clock=handles.clock,
    )
    return app


def serve(settings: EAccountingSandboxSettings, host: str = "127.0.0.1", port: int = 8701) -> None:
    """Blocking: run the sandbox with uvicorn (``koppel sandbox eaccounting`` calls this)."""
    serve_app(create_app(settings), host, port)
