"""Reading eAccounting's error answers into connector errors.

Body (``CommonExtendedBadRequest``): ``{ErrorCode, DeveloperErrorMessage, ErrorId, Errors:
[{Field, ErrorCode, Message, Key}]}``. A 429 says how long to wait only in the message
("Try again in 55 seconds."); a ``Retry-After`` header is honoured too if present.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx

from koppel.connectors.common.errors import (
    ApiError,
    ConflictError,
    ConnectorError,
    ErrorContext,
    FieldError,
    ForbiddenError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    ValidationFailedError,
)
from koppel.connectors.common.retry import retry_after_of

VALIDATION_CODES = frozenset({2000, 6000, 6001, 4025, 4035, 4024, 4100})
FORBIDDEN_CODES = frozenset({4002, 4003, 4004, 4005, 4006, 4007, 4009, 4011, 4012, 4019, 4034})
CONFLICT_CODES = frozenset({4000})
NOT_FOUND_CODES = frozenset({3000, 3001, 3002})


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def classify(response: httpx.Response, ctx: ErrorContext) -> ConnectorError | None:
    status = response.status_code
    if status < 400:
        return None
    body = _body(response) if response.content else {}
    code = body.get("ErrorCode")
    message = body.get("DeveloperErrorMessage") or body.get("Message")
    fields = tuple(
        FieldError(field=e.get("Field"), message=e.get("Message"), code=e.get("ErrorCode"))
        for e in (body.get("Errors") or [])
        if isinstance(e, dict)
    )
    ctx = dataclasses.replace(
        ctx,
        api_error_code=str(code) if code is not None else None,
        api_message=message,
        field_errors=fields,
    )
    if status == 429 or code == 4010:
        return RateLimitedError(
            "eAccounting rate limit hit", ctx, retry_after=retry_after_of(response, message)
        )
    if status >= 500:
        return ServerError("eAccounting server error", ctx, maybe_processed=True)
    if status == 404 or code in NOT_FOUND_CODES:
        return NotFoundError("not found in eAccounting", ctx)
    if status == 409 or code in CONFLICT_CODES:
        return ConflictError("eAccounting refused a duplicate", ctx)
    if status == 403 or code in FORBIDDEN_CODES:
        return ForbiddenError(
            "eAccounting refused access (scope, module, licence or company state)", ctx
        )
    if status == 400 and (code in VALIDATION_CODES or fields or code is None):
        return ValidationFailedError("eAccounting rejected the data", ctx)
    return ApiError("eAccounting refused the request", ctx)
