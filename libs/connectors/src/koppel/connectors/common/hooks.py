"""What the activity log sees of each HTTP exchange, with secrets taken out first."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "***"
SECRET_KEYS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "client_secret",
        "refresh_token",
        "access_token",
        "id_token",
        "code",
        "password",
        "api_key",
        "x-api-key",
    }
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")


def _is_secret(key: str, extra: frozenset[str]) -> bool:
    k = key.lower()
    return k in SECRET_KEYS or k in extra


def redact_headers(
    headers: Mapping[str, str], extra: frozenset[str] = frozenset()
) -> dict[str, str]:
    return {k: (REDACTED if _is_secret(k, extra) else v) for k, v in headers.items()}


def redact_url(url: str, extra: frozenset[str] = frozenset()) -> str:
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = [
        (k, REDACTED if _is_secret(k, extra) else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(pairs, safe="{}^$/:,' ")))


def _redact_json(value: Any, extra: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {
            k: (REDACTED if _is_secret(str(k), extra) else _redact_json(v, extra))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact_json(v, extra) for v in value]
    return value


def redact_body(
    body: bytes | str | None,
    content_type: str = "",
    *,
    extra: frozenset[str] = frozenset(),
    limit: int = 65536,
) -> str | None:
    """Redacted text of a body: JSON and form bodies key-aware, anything else by pattern."""
    if body is None or body == b"" or body == "":
        return None
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    ctype = content_type.lower()
    if "json" in ctype or text[:1] in "[{":
        try:
            text = json.dumps(_redact_json(json.loads(text), extra), ensure_ascii=False)
        except ValueError:
            pass
    elif "x-www-form-urlencoded" in ctype:
        pairs = parse_qsl(text, keep_blank_values=True)
        text = urlencode([(k, REDACTED if _is_secret(k, extra) else v) for k, v in pairs])
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    if len(text) > limit:
        text = text[:limit] + f"...[{len(text) - limit} more chars]"
    return text


@dataclass(slots=True)
class HttpExchange:
    """One attempt of one request, already redacted; handed to every hook."""

    api: str
    connection_id: str
    method: str
    url: str
    endpoint: str
    attempt: int
    status: int | None
    duration_ms: float
    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: str | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str | None = None
    error: str | None = None
    record_key: str | None = None
    trace_id: str | None = None


RequestHook = Callable[[HttpExchange], Awaitable[None] | None]


async def call_hooks(hooks: tuple[RequestHook, ...], exchange: HttpExchange) -> None:
    """Run every hook; a failing hook must never fail the API call it observes."""
    for hook in hooks:
        try:
            result = hook(exchange)
            if inspect.isawaitable(result):
                await result
        except Exception:  # noqa: BLE001 - observers are best effort by design
            continue


class RecordingHook:
    """Keeps every exchange in memory (tests, the CLI's verbose mode)."""

    def __init__(self) -> None:
        self.exchanges: list[HttpExchange] = []

    def __call__(self, exchange: HttpExchange) -> None:
        self.exchanges.append(exchange)
