"""ASGI middleware of the AccountView sandbox.

- ``CaseFoldMiddleware`` (outermost): AccountView paths are case-insensitive (``/AccountViewData``
  and ``/accountviewdata`` both work, notes section 1), so API paths are lower-cased before
  routing; it also counts requests per business object (from the query or the JSON body).
- ``RelayMiddleware`` (innermost): the added latency and the optional rate limit knobs.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse

from koppel.sandbox.accountview.errors import error_body
from koppel.sandbox.accountview.runtime import Runtime
from koppel.sandbox.common.faults import ASGIApp, Message, Receive, Scope, Send

API_PREFIXES = ("/api/v3", "/ams/")
DATA_PATH = "/api/v3/accountviewdata"


def is_api_path(path: str) -> bool:
    return path.lower().startswith(API_PREFIXES)


class CaseFoldMiddleware:
    def __init__(self, app: ASGIApp, *, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_api_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        path = scope["path"].lower().rstrip("/") or "/"
        scope["path"] = path
        scope["raw_path"] = path.encode()
        if path == DATA_PATH:
            receive = await self._count(scope, receive)
        await self.app(scope, receive, send)

    async def _count(self, scope: Scope, receive: Receive) -> Receive:
        query = scope.get("query_string", b"").decode("latin-1")
        params = {k.lower(): v for k, v in parse_qsl(query, keep_blank_values=True)}
        bo = params.get("businessobject", "")
        replay = receive
        if scope["method"] in ("POST", "PUT"):
            chunks: list[bytes] = []
            while True:
                message = await receive()
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    break
            body = b"".join(chunks)
            bo = bo or _body_business_object(body)
            sent = False

            async def replay_body() -> Message:
                nonlocal sent
                if not sent:
                    sent = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            replay = replay_body
        key = f"{scope['method']} {DATA_PATH} {bo.strip().upper() or '-'}"
        self.runtime.by_business_object[key] += 1
        return replay


def _body_business_object(body: bytes) -> str:
    try:
        data: Any = json.loads(body)
    except ValueError:
        return ""
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, str) and key.lower() == "businessobject":
                return str(value)
    return ""


class RelayMiddleware:
    def __init__(self, app: ASGIApp, *, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_api_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        knobs = self.runtime.knobs
        if knobs.latency_ms > 0:
            await asyncio.sleep(knobs.latency_ms / 1000)
        limiter = self.runtime.rate_limiter
        if limiter is not None:
            headers = dict(scope.get("headers") or [])
            key = headers.get(b"authorization", b"anonymous").decode("latin-1")
            wait = limiter.hit(key)
            if wait is not None:
                response = JSONResponse(
                    error_body("Te veel verzoeken; probeer het later opnieuw"),
                    status_code=429,
                    headers={"Retry-After": str(wait)},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
