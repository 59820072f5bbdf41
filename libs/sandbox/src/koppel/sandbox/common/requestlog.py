"""A log of the requests a sandbox served, with counts per method and path template.

Tests and the chaos suite use it to assert *how* a client talked to the API (how many pages it
fetched, whether it retried a write, ...) without reaching into the client.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from starlette.routing import BaseRoute, Match, compile_path

from koppel.sandbox.common.clock import SandboxClock, isoformat_z
from koppel.sandbox.common.faults import ASGIApp, Message, Receive, Scope, Send


@dataclass(frozen=True)
class RequestRecord:
    at: str
    method: str
    path: str
    template: str
    query: str
    status: int | None  # None: the connection was dropped
    fault: str | None
    client_id: str | None
    duration_ms: float

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"


class RequestLog:
    """Thread-safe request log; keeps the last ``max_entries`` records and all counts."""

    def __init__(self, max_entries: int = 20_000) -> None:
        self._lock = threading.Lock()
        self._entries: deque[RequestRecord] = deque(maxlen=max_entries)
        self._counts: Counter[str] = Counter()
        self._statuses: Counter[str] = Counter()
        self._total = 0

    def add(self, record: RequestRecord) -> None:
        with self._lock:
            self._entries.append(record)
            self._counts[record.key] += 1
            self._statuses[str(record.status) if record.status is not None else "dropped"] += 1
            self._total += 1

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._counts.clear()
            self._statuses.clear()
            self._total = 0

    def entries(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._entries)

    def count(self, method: str, template: str) -> int:
        with self._lock:
            return self._counts[f"{method.upper()} {template}"]

    def summary(self, *, limit: int | None = None) -> dict[str, Any]:
        """JSON-ready view: total, counts per "METHOD /template", per status, last entries."""
        with self._lock:
            entries = list(self._entries)
            if limit is not None:
                entries = entries[-limit:] if limit > 0 else []
            return {
                "total": self._total,
                "counts": dict(sorted(self._counts.items())),
                "statuses": dict(sorted(self._statuses.items())),
                "entries": [asdict(e) for e in entries],
            }


class OpenApiTemplates:
    """Path templates of an app, from its OpenAPI document (compiled on first use).

    Used for requests that never reached the router (faulted ones); works however the app
    nests its routers.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self._compiled: list[tuple[re.Pattern[str], str, frozenset[str]]] | None = None

    def match(self, path: str, method: str | None = None) -> str | None:
        """The template for ``path``; with ``method``, one that declares that method wins."""
        if self._compiled is None:
            try:
                paths: dict[str, Any] = dict(self.app.openapi().get("paths", {}))
            except Exception:  # noqa: BLE001 - a broken schema must not break the log
                paths = {}
            # Literal paths before templated ones, so "/x/special" wins over "/x/{id}".
            ordered = sorted(paths, key=lambda p: ("{" in p, p))
            self._compiled = [
                (compile_path(p)[0], p, frozenset(m.upper() for m in paths[p])) for p in ordered
            ]
        fallback: str | None = None
        for regex, template, methods in self._compiled:
            if regex.match(path):
                if method is None or method.upper() in methods:
                    return template
                fallback = fallback or template
        return fallback


def path_template(
    routes: Sequence[BaseRoute], scope: Scope, templates: OpenApiTemplates | None = None
) -> str:
    """The route path (``/v2/customers/{customerId}``) a request matches, else its raw path."""
    routed = getattr(scope.get("route"), "path", None)
    if isinstance(routed, str):
        return routed  # set by the router for requests that reached an endpoint
    partial: str | None = None
    for route in routes:
        path = getattr(route, "path", None)
        if not isinstance(path, str):
            continue
        match, _ = route.matches(dict(scope))
        if match is Match.FULL:
            return path
        if match is Match.PARTIAL and partial is None:
            partial = path  # same path, other method
    if partial is not None:
        return partial
    if (
        templates is not None
        and (found := templates.match(str(scope["path"]), str(scope.get("method", "")))) is not None
    ):
        return found
    return str(scope["path"])


class RequestLogMiddleware:
    """Outermost middleware: records every request, including faulted and dropped ones."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        log: RequestLog,
        clock: SandboxClock,
        routes: Sequence[BaseRoute] = (),
        templates: OpenApiTemplates | None = None,
        skip_prefixes: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.log = log
        self.routes = routes
        self.templates = templates
        self.clock = clock
        self.skip_prefixes = skip_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.skip_prefixes):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        at = isoformat_z(self.clock.now())
        status: int | None = None
        completed = False

        async def watch(message: Message) -> None:
            nonlocal status, completed
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                completed = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            state = scope.get("state") or {}
            self.log.add(
                RequestRecord(
                    at=at,
                    method=scope["method"],
                    path=scope["path"],
                    template=path_template(self.routes, scope, self.templates),
                    query=scope.get("query_string", b"").decode("latin-1"),
                    status=status if completed else None,
                    fault=state.get("sandbox_fault"),
                    client_id=state.get("sandbox_client_id"),
                    duration_ms=round((time.perf_counter() - started) * 1000, 3),
                )
            )
