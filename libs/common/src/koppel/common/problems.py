"""RFC 9457 problem details for every Koppel HTTP API.

Bad input is always a 4xx naming the field (``errors[].loc``), never a 500; an unexpected
exception is a 500 that says nothing about internals (the trace id lets an operator find
the logged stack). Routes raise ``Problem`` for domain answers (404, 409, ...).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from koppel.common.errors import PermanentError, TransientError
from koppel.common.telemetry import current_ids

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 409: "Conflict", 415: "Unsupported Media Type",
           422: "Unprocessable Content", 429: "Too Many Requests", 500: "Internal Server Error",
           503: "Service Unavailable"}  # fmt: skip


class Problem(Exception):
    """Raise from a route to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        title: str | None = None,
        type: str = "about:blank",
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or title or str(status))
        self.status = status
        self.detail = detail
        self.title = title or _TITLES.get(status, "Error")
        self.type = type
        self.headers = headers
        self.extensions = extensions


def problem_response(
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    type: str = "about:blank",
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type,
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    trace_id, _ = current_ids()
    if trace_id:
        body["trace_id"] = trace_id
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Only loc/msg/type: ``input`` may hold secrets and ``ctx`` may not be JSON.
    return [
        {"loc": [str(p) if not isinstance(p, int) else p for p in err.get("loc", ())],
         "msg": str(err.get("msg", "")), "type": str(err.get("type", ""))}
        for err in exc.errors()
    ]  # fmt: skip


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors)
    return problem_response(
        422, detail=f"invalid request: {fields}", instance=request.url.path, errors=errors
    )


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem_response(
        exc.status_code,
        detail=detail,
        instance=request.url.path,
        headers=getattr(exc, "headers", None),
    )


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(
        exc.status, title=exc.title, detail=exc.detail, type=exc.type,
        instance=request.url.path, headers=exc.headers, **exc.extensions,
    )  # fmt: skip


async def _on_koppel_error(request: Request, exc: Exception) -> JSONResponse:
    # A use case refused the input (PermanentError) or a dependency is down (TransientError).
    if isinstance(exc, PermanentError):
        return problem_response(
            422, detail=str(exc), instance=request.url.path, reason_code=exc.reason_code
        )
    assert isinstance(exc, TransientError)
    headers = {"Retry-After": str(int(exc.retry_after))} if exc.retry_after else None
    return problem_response(503, detail=str(exc), instance=request.url.path, headers=headers)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(500, detail="an unexpected error occurred", instance=request.url.path)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(PermanentError, _on_koppel_error)
    app.add_exception_handler(TransientError, _on_koppel_error)
    app.add_exception_handler(Exception, _on_unexpected)
