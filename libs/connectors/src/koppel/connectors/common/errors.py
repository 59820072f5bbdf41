"""Connector errors: every failure says whether a retry can help, and carries its context.

The bus routes a failed message on the exception type alone (``koppel.common.errors``), so
each connector error subclasses ``TransientError`` or ``PermanentError``. The extra
attributes (connection, endpoint, record key, API error code and message, field errors) let
the activity log and the tenant alert say *what* failed without parsing strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from koppel.common.errors import PermanentError, TransientError


@dataclass(frozen=True, slots=True)
class FieldError:
    """One field-level complaint of the remote API (eAccounting ``Errors[]``)."""

    field: str | None
    message: str | None
    code: str | None = None


@dataclass(frozen=True, slots=True)
class ErrorContext:
    """Where a failure happened: enough to find the request in the activity log."""

    api: str = ""
    connection_id: str = ""
    method: str = ""
    endpoint: str = ""
    status: int | None = None
    record_key: str | None = None
    api_error_code: str | None = None
    api_message: str | None = None
    field_errors: tuple[FieldError, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {
            "api": self.api,
            "connection_id": self.connection_id,
            "method": self.method,
            "endpoint": self.endpoint,
            "status": self.status,
            "record_key": self.record_key,
            "api_error_code": self.api_error_code,
            "api_message": self.api_message,
            "field_errors": [
                {"field": f.field, "message": f.message, "code": f.code} for f in self.field_errors
            ],
        }


def _describe(summary: str, ctx: ErrorContext) -> str:
    parts = [summary]
    where = f"{ctx.method} {ctx.endpoint}".strip()
    if where:
        parts.append(f"({ctx.api} {where}".rstrip() + (f" -> {ctx.status})" if ctx.status else ")"))
    if ctx.record_key:
        parts.append(f"record {ctx.record_key!r}")
    if ctx.api_error_code or ctx.api_message:
        parts.append(f"API said [{ctx.api_error_code or '-'}] {ctx.api_message or ''}".rstrip())
    for fe in ctx.field_errors:
        parts.append(f"field {fe.field}: {fe.message}")
    return "; ".join(parts)


class ConnectorError(Exception):
    """Mixin of every connector error (catch this to catch both kinds)."""

    ctx: ErrorContext

    @property
    def status(self) -> int | None:
        return self.ctx.status

    @property
    def field_errors(self) -> tuple[FieldError, ...]:
        return self.ctx.field_errors


class TransientConnectorError(ConnectorError, TransientError):
    """Retrying later may help.

    ``maybe_processed`` is True when the request may have reached the server and been
    acted on (timeout after sending, dropped connection, 5xx): a non-idempotent create must
    then look the record up before trying again.
    """

    default_code = "remote_unavailable"

    def __init__(
        self,
        summary: str,
        ctx: ErrorContext,
        *,
        retry_after: float | None = None,
        maybe_processed: bool = False,
        reason_code: str | None = None,
    ) -> None:
        TransientError.__init__(
            self,
            _describe(summary, ctx),
            reason_code=reason_code or self.default_code,
            retry_after=retry_after,
            **ctx.as_dict(),
        )
        self.ctx = ctx
        self.maybe_processed = maybe_processed


class PermanentConnectorError(ConnectorError, PermanentError):
    """Retrying cannot help until someone fixes data, mapping, scope or consent."""

    default_code = "remote_rejected"

    def __init__(self, summary: str, ctx: ErrorContext, *, reason_code: str | None = None) -> None:
        PermanentError.__init__(
            self,
            _describe(summary, ctx),
            reason_code=reason_code or self.default_code,
            **ctx.as_dict(),
        )
        self.ctx = ctx


# --- transient -------------------------------------------------------------------------


class RateLimitedError(TransientConnectorError):
    """429: the request was refused before processing; safe to resend after ``retry_after``."""

    default_code = "rate_limited"


class ServerError(TransientConnectorError):
    """5xx: the server failed; it may or may not have done the work."""

    default_code = "server_error"


class RequestTimeoutError(TransientConnectorError):
    default_code = "timeout"


class ConnectionFailedError(TransientConnectorError):
    default_code = "connection_failed"


# --- permanent -------------------------------------------------------------------------


class ValidationFailedError(PermanentConnectorError):
    """The API rejected the data (field errors in ``ctx.field_errors``)."""

    default_code = "validation_failed"


class NotFoundError(PermanentConnectorError):
    default_code = "not_found"


class ConflictError(PermanentConnectorError):
    """The record already exists (duplicate key)."""

    default_code = "conflict"


class ForbiddenError(PermanentConnectorError):
    """Missing scope, module, licence or an inactive company: a person must act."""

    default_code = "forbidden"


class AuthenticationError(PermanentConnectorError):
    """Still 401 after a forced token refresh: consent revoked or credentials broken."""

    default_code = "unauthorized"


class ApiError(PermanentConnectorError):
    """Any other refusal the API gave (unexpected 4xx, AccountView error body)."""

    default_code = "api_error"


class FieldTooLongError(PermanentConnectorError):
    """A value exceeds its field length and the connection is set to refuse truncation."""

    default_code = "field_too_long"


class UnexpectedResponseError(PermanentConnectorError):
    """The body did not parse as the documented shape."""

    default_code = "unexpected_response"
