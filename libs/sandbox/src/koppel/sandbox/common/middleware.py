"""One call to put the shared middleware on a sandbox app, in the right order."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from koppel.sandbox.common.admin import ADMIN_PREFIX
from koppel.sandbox.common.clock import SandboxClock
from koppel.sandbox.common.faults import FaultInjector, FaultMiddleware, FaultResponses
from koppel.sandbox.common.requestlog import OpenApiTemplates, RequestLog, RequestLogMiddleware


def install(
    app: FastAPI,
    *,
    faults: FaultInjector,
    responses: FaultResponses,
    requests: RequestLog,
    clock: SandboxClock,
    admin_prefix: str = ADMIN_PREFIX,
    applies_to: Callable[[str], bool] | None = None,
) -> None:
    """Request log outermost (it sees faulted and dropped requests), faults inside it.

    Faults never touch ``admin_prefix`` paths; ``applies_to`` narrows them further (e.g. only
    ``/v2``). Admin requests are not logged either.
    """

    def is_api(path: str) -> bool:
        if path.startswith(admin_prefix):
            return False
        return applies_to(path) if applies_to is not None else True

    app.add_middleware(FaultMiddleware, injector=faults, responses=responses, applies_to=is_api)
    # Added last = outermost.
    app.add_middleware(
        RequestLogMiddleware,
        log=requests,
        routes=app.router.routes,
        templates=OpenApiTemplates(app),
        clock=clock,
        skip_prefixes=(admin_prefix,),
    )
