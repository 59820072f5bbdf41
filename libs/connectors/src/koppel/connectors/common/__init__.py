"""Pieces both connectors share: HTTP core, rate limits, tokens, errors, hooks."""

from koppel.connectors.common.clock import SYSTEM_CLOCK, Clock, ScaledClock, SystemClock
from koppel.connectors.common.errors import (
    ApiError,
    AuthenticationError,
    ConflictError,
    ConnectionFailedError,
    ConnectorError,
    ErrorContext,
    FieldError,
    FieldTooLongError,
    ForbiddenError,
    NotFoundError,
    PermanentConnectorError,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
    TransientConnectorError,
    UnexpectedResponseError,
    ValidationFailedError,
)
from koppel.connectors.common.hooks import HttpExchange, RecordingHook, RequestHook
from koppel.connectors.common.idempotency import CreateResult, create_once
from koppel.connectors.common.ratelimit import (
    DEFAULT_REGISTRY,
    ConcurrencyLimit,
    RateLimit,
    RateLimiterRegistry,
    TokenBucket,
)
from koppel.connectors.common.retry import RetryPolicy
from koppel.connectors.common.tokens import StaticTokenProvider, TokenProvider

__all__ = [
    "DEFAULT_REGISTRY",
    "SYSTEM_CLOCK",
    "ApiError",
    "AuthenticationError",
    "Clock",
    "ConcurrencyLimit",
    "ConflictError",
    "ConnectionFailedError",
    "ConnectorError",
    "CreateResult",
    "ErrorContext",
    "FieldError",
    "FieldTooLongError",
    "ForbiddenError",
    "HttpExchange",
    "NotFoundError",
    "PermanentConnectorError",
    "RateLimit",
    "RateLimitedError",
    "RateLimiterRegistry",
    "RecordingHook",
    "RequestHook",
    "RequestTimeoutError",
    "RetryPolicy",
    "ScaledClock",
    "ServerError",
    "StaticTokenProvider",
    "SystemClock",
    "TokenBucket",
    "TokenProvider",
    "TransientConnectorError",
    "UnexpectedResponseError",
    "ValidationFailedError",
    "create_once",
]
