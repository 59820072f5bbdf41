"""The pages' own CSS and JS, served by the gateway itself (no CDN)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import APIRouter, Response

from koppel.gateway.errors import NotFound

STATIC = Path(__file__).parent / "static"
TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


def _load() -> dict[str, tuple[bytes, str, str]]:
    files: dict[str, tuple[bytes, str, str]] = {}
    for path in STATIC.iterdir():
        if path.suffix in TYPES:
            body = path.read_bytes()
            files[path.name] = (body, TYPES[path.suffix], hashlib.sha256(body).hexdigest()[:16])
    return files


def mount(router: APIRouter) -> None:
    files = _load()

    @router.get("/static/{name}")
    async def asset(name: str) -> Response:
        found = files.get(name)
        if found is None:
            raise NotFound("no such file")
        body, media_type, etag = found
        return Response(
            body,
            media_type=media_type,
            headers={
                "Cache-Control": "public, max-age=3600",
                "ETag": f'"{etag}"',
                "X-Content-Type-Options": "nosniff",
            },
        )
