"""The HTTP core both connectors share: one pooled client per connection, tokens from a
provider (one forced refresh on 401), rate limiting, safe retries, hooks and spans.

API specifics (how errors look, which endpoint a path counts against) come in as small
functions, so this module knows nothing about eAccounting or AccountView.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from koppel.connectors.common.errors import (
    AuthenticationError,
    ConnectionFailedError,
    ConnectorError,
    ErrorContext,
    RateLimitedError,
    RequestTimeoutError,
    TransientConnectorError,
)
from koppel.connectors.common.hooks import (
    HttpExchange,
    RequestHook,
    call_hooks,
    redact_body,
    redact_headers,
    redact_url,
)
from koppel.connectors.common.metrics import record_attempt
from koppel.connectors.common.ratelimit import DEFAULT_REGISTRY, RateLimit, RateLimiterRegistry
from koppel.connectors.common.retry import RetryPolicy
from koppel.connectors.common.tokens import TokenProvider

tracer = trace.get_tracer("koppel.connectors")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
"""Methods whose repetition cannot create a second record (PUT is a full replace)."""

ErrorClassifier = Callable[[httpx.Response, ErrorContext], ConnectorError | None]
EndpointKey = Callable[[str, str], str]


@dataclass(slots=True)
class HttpSettings:
    """Transport knobs common to both APIs (each API's settings fill these in)."""

    api: str
    connection_id: str
    base_url: str
    timeout: httpx.Timeout = field(default_factory=lambda: httpx.Timeout(30.0, connect=10.0))
    total_timeout: float | None = 120.0
    max_connections: int = 10
    max_in_flight: int = 8
    rate_limit: RateLimit | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    default_429_wait: float = 5.0
    headers: Mapping[str, str] = field(default_factory=dict)
    hooks: tuple[RequestHook, ...] = ()
    capture_bodies: bool = True
    redact_keys: frozenset[str] = frozenset()


class HttpCore:
    def __init__(
        self,
        settings: HttpSettings,
        *,
        token_provider: TokenProvider,
        classify: ErrorClassifier,
        endpoint_key: EndpointKey,
        transport: httpx.AsyncBaseTransport | None = None,
        registry: RateLimiterRegistry | None = None,
    ) -> None:
        self.settings = settings
        self.registry = registry or DEFAULT_REGISTRY
        self._tokens = token_provider
        self._classify = classify
        self._endpoint_key = endpoint_key
        self.client = httpx.AsyncClient(
            base_url=settings.base_url.rstrip("/") + "/",
            transport=transport,
            timeout=settings.timeout,
            limits=httpx.Limits(
                max_connections=settings.max_connections,
                max_keepalive_connections=settings.max_connections,
            ),
            headers={
                "Accept": "application/json",
                "User-Agent": "koppel-connectors/0.1",
                **settings.headers,
            },
        )
        self.attempts = 0  # every HTTP attempt sent, for tests and metrics
        self.responses_by_status: dict[int, int] = {}

    async def aclose(self) -> None:
        await self.client.aclose()

    def context(
        self, method: str, path: str, *, record_key: str | None = None, status: int | None = None
    ) -> ErrorContext:
        return ErrorContext(
            api=self.settings.api,
            connection_id=self.settings.connection_id,
            method=method,
            endpoint=path,
            status=status,
            record_key=record_key,
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        record_key: str | None = None,
        safe: bool | None = None,
        max_attempts: int | None = None,
    ) -> httpx.Response:
        """Send one logical request; returns the response the classifier accepted.

        Retries: every method is retried when the request certainly was not processed
        (429, connection refused); only safe methods are retried after an ambiguous
        failure. Everything else raises a ``ConnectorError`` subclass.
        """
        method = method.upper()
        safe = method in SAFE_METHODS if safe is None else safe
        policy = self.settings.retry
        limit = max_attempts or policy.max_attempts
        endpoint = self._endpoint_key(method, path)
        attrs = {
            "http.request.method": method,
            "url.template": path,
            "koppel.api": self.settings.api,
            "koppel.connection_id": self.settings.connection_id,
            "koppel.endpoint": endpoint,
        }
        if record_key:
            attrs["koppel.record_key"] = record_key
        with tracer.start_as_current_span(
            f"{self.settings.api} {method} {endpoint}", kind=SpanKind.CLIENT, attributes=attrs
        ) as span:
            attempt = 0
            while True:
                attempt += 1
                try:
                    response = await self._send_authorised(
                        method, path, endpoint, params, json, headers, record_key, attempt
                    )
                    error = self._classify(
                        response,
                        self.context(
                            method, path, record_key=record_key, status=response.status_code
                        ),
                    )
                    if error is not None:
                        raise error
                    span.set_attribute("http.response.status_code", response.status_code)
                    span.set_attribute("koppel.attempts", attempt)
                    return response
                except TransientConnectorError as exc:
                    span.add_event(
                        "attempt_failed", {"attempt": attempt, "error": type(exc).__name__}
                    )
                    paused = isinstance(exc, RateLimitedError) and self._pause(
                        endpoint, exc.retry_after
                    )
                    retryable = safe or not exc.maybe_processed
                    wait = policy.backoff(attempt, exc.retry_after)
                    if not retryable or attempt >= limit or wait > policy.max_wait:
                        self._fail_span(span, exc, attempt)
                        raise
                    # A paused bucket makes the next acquire wait; otherwise sleep here.
                    if not paused:
                        await self.registry.clock.sleep(wait)
                except ConnectorError as exc:
                    self._fail_span(span, exc, attempt)
                    raise

    @staticmethod
    def _fail_span(span: trace.Span, exc: Exception, attempt: int) -> None:
        span.set_attribute("koppel.attempts", attempt)
        status = getattr(exc, "status", None)
        if status:
            span.set_attribute("http.response.status_code", status)
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, type(exc).__name__))

    def _pause(self, endpoint: str, retry_after: float | None) -> bool:
        """Pause the endpoint's bucket for the advertised wait; False if there is no bucket."""
        s = self.settings
        if s.rate_limit is None:
            return False
        bucket = self.registry.bucket(s.connection_id, s.api, endpoint, s.rate_limit)
        bucket.pause(retry_after if retry_after is not None else s.default_429_wait)
        return True

    async def _send_authorised(
        self,
        method: str,
        path: str,
        endpoint: str,
        params: Mapping[str, Any] | None,
        body: Any,
        headers: Mapping[str, str] | None,
        record_key: str | None,
        attempt: int,
    ) -> httpx.Response:
        response = await self._send_once(
            method, path, endpoint, params, body, headers, record_key, attempt, False
        )
        if response.status_code != 401:
            return response
        # One forced refresh: the gateway may hold a newer token than the one we were given.
        response = await self._send_once(
            method, path, endpoint, params, body, headers, record_key, attempt, True
        )
        if response.status_code == 401:
            raise AuthenticationError(
                "access denied even after a token refresh (consent revoked or credentials invalid)",
                self.context(method, path, record_key=record_key, status=401),
            )
        return response

    async def _send_once(
        self,
        method: str,
        path: str,
        endpoint: str,
        params: Mapping[str, Any] | None,
        body: Any,
        headers: Mapping[str, str] | None,
        record_key: str | None,
        attempt: int,
        force_refresh: bool,
    ) -> httpx.Response:
        s = self.settings
        token = await self._tokens.access_token(s.connection_id, force_refresh=force_refresh)
        request = self.client.build_request(
            method,
            path.lstrip("/"),
            params=_clean_params(params),
            json=body,
            headers={**(headers or {}), "Authorization": f"Bearer {token}"},
        )
        async with AsyncExitStack() as stack:
            if s.rate_limit is not None:
                await stack.enter_async_context(
                    self.registry.bucket(s.connection_id, s.api, endpoint, s.rate_limit).slot()
                )
            await stack.enter_async_context(
                self.registry.concurrency(s.connection_id, s.api, s.max_in_flight).slot()
            )
            started = time.perf_counter()
            self.attempts += 1
            error: TransientConnectorError | None = None
            response: httpx.Response | None = None
            try:
                if s.total_timeout is not None:
                    async with asyncio.timeout(s.total_timeout):
                        response = await self.client.send(request)
                else:
                    response = await self.client.send(request)
            except (TimeoutError, httpx.TimeoutException) as exc:
                not_sent = isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
                error = RequestTimeoutError(
                    f"no answer in time ({type(exc).__name__})",
                    self.context(method, path, record_key=record_key),
                    maybe_processed=not not_sent,
                )
            except httpx.TransportError as exc:
                not_sent = isinstance(exc, httpx.ConnectError)
                error = ConnectionFailedError(
                    f"connection failed ({type(exc).__name__}: {exc})",
                    self.context(method, path, record_key=record_key),
                    maybe_processed=not not_sent,
                )
            duration_ms = (time.perf_counter() - started) * 1000
        if response is not None:
            self.responses_by_status[response.status_code] = (
                self.responses_by_status.get(response.status_code, 0) + 1
            )
        record_attempt(s.api, method, response.status_code if response is not None else None)
        if s.hooks:
            await call_hooks(
                s.hooks,
                self._exchange(
                    request, response, endpoint, attempt, duration_ms, error, record_key
                ),
            )
        if error is not None:
            raise error
        assert response is not None
        return response

    def _exchange(
        self,
        request: httpx.Request,
        response: httpx.Response | None,
        endpoint: str,
        attempt: int,
        duration_ms: float,
        error: Exception | None,
        record_key: str | None,
    ) -> HttpExchange:
        s = self.settings
        extra = s.redact_keys
        span_ctx = trace.get_current_span().get_span_context()
        return HttpExchange(
            api=s.api,
            connection_id=s.connection_id,
            method=request.method,
            url=redact_url(str(request.url), extra),
            endpoint=endpoint,
            attempt=attempt,
            status=response.status_code if response is not None else None,
            duration_ms=round(duration_ms, 2),
            request_headers=redact_headers(dict(request.headers), extra),
            request_body=redact_body(
                request.content, request.headers.get("content-type", ""), extra=extra
            )
            if s.capture_bodies
            else None,
            response_headers=redact_headers(dict(response.headers), extra)
            if response is not None
            else {},
            response_body=(
                redact_body(response.content, response.headers.get("content-type", ""), extra=extra)
                if response is not None and s.capture_bodies
                else None
            ),
            error=str(error) if error else None,
            record_key=record_key,
            trace_id=format(span_ctx.trace_id, "032x") if span_ctx.is_valid else None,
        )


def _clean_params(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    if not params:
        return None
    out: dict[str, str] = {}
    for k, v in params.items():
        if v is None:
            continue
        out[k] = ("true" if v else "false") if isinstance(v, bool) else str(v)
    return out
