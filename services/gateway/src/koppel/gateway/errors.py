"""The gateway's own errors: RFC 9457 problems (``koppel.common.problems.Problem``).

Each class fixes a status; ``field`` names the offending input. Messages are written for the
API user and never contain a secret.
"""

from __future__ import annotations

from typing import Any, ClassVar

from koppel.common.problems import Problem


class GatewayError(Problem):
    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        extensions: dict[str, Any] = {"code": self.code, **extra}
        if field is not None:
            extensions["field"] = field
        super().__init__(self.status_code, detail, headers=headers, **extensions)
        self.field = field


class NotFound(GatewayError):
    """Also what another tenant's resource looks like: ids never leak."""

    status_code = 404
    code = "not_found"


class Unauthorized(GatewayError):
    status_code = 401
    code = "unauthorized"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"}, **extra)


class Forbidden(GatewayError):
    status_code = 403
    code = "forbidden"


class Conflict(GatewayError):
    status_code = 409
    code = "conflict"


class InvalidInput(GatewayError):
    status_code = 422
    code = "invalid_input"


class PayloadTooLarge(GatewayError):
    status_code = 413
    code = "payload_too_large"


class NeedsConsent(GatewayError):
    status_code = 409
    code = "needs_consent"


class UpstreamUnavailable(GatewayError):
    status_code = 503
    code = "upstream_unavailable"


class UpstreamRejected(GatewayError):
    status_code = 502
    code = "upstream_rejected"
