"""Reading AccountView's answers: ``{"ErrorType","ErrorNumbers","ErrorMessage"}``, which
may arrive with any status, including 200 (two clients check for it on every response)."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx

from koppel.connectors.common.errors import (
    ApiError,
    ConflictError,
    ConnectorError,
    ErrorContext,
    ForbiddenError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    ValidationFailedError,
)
from koppel.connectors.common.retry import retry_after_of


def error_body(response: httpx.Response) -> dict[str, Any] | None:
    if not response.content or "json" not in response.headers.get("content-type", "json"):
        return None
    try:
        data = response.json()
    except ValueError:
        return None
    if (
        isinstance(data, dict)
        and ("ErrorMessage" in data or "ErrorType" in data)
        and not any(isinstance(v, list) and k.isupper() for k, v in data.items())
    ):
        return data
    return None


def make_classifier(*, error_body_on_200: bool, not_found_is_empty: bool) -> Any:
    def classify(response: httpx.Response, ctx: ErrorContext) -> ConnectorError | None:
        status = response.status_code
        body = error_body(response) if (status >= 400 or error_body_on_200) else None
        if status < 400 and body is None:
            return None
        if status == 404 and not_found_is_empty and ctx.method == "GET":
            return None  # the read turns it into "no records"
        message = (body or {}).get("ErrorMessage")
        numbers = (body or {}).get("ErrorNumbers")
        code = (
            ",".join(str(n) for n in numbers)
            if isinstance(numbers, list)
            else (body or {}).get("ErrorType")
        )
        ctx = dataclasses.replace(ctx, api_error_code=code, api_message=message)
        if status == 429:
            return RateLimitedError(
                "AccountView rate limit hit", ctx, retry_after=retry_after_of(response, message)
            )
        if status >= 500:
            return ServerError("AccountView server error", ctx, maybe_processed=True)
        if status == 404:
            return NotFoundError("not found in AccountView", ctx)
        if status == 403:
            return ForbiddenError("AccountView refused access (scope or company)", ctx)
        if status == 409:
            return ConflictError("AccountView refused a duplicate", ctx)
        if status < 400:
            return ApiError("AccountView reported an error (HTTP 200 with an error body)", ctx)
        if status in (400, 422):
            return ValidationFailedError("AccountView rejected the data", ctx)
        return ApiError("AccountView refused the request", ctx)

    return classify
