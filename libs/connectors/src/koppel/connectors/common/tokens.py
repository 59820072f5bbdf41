"""Where connectors get access tokens: never from themselves.

eAccounting refresh tokens are single-use, so only the gateway refreshes (under a lock,
storing the rotated refresh token). A connector asks a ``TokenProvider`` for the current
access token and, after a 401, asks once more with ``force_refresh=True``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class TokenProvider(Protocol):
    async def access_token(self, connection_id: str, *, force_refresh: bool = False) -> str:
        """A currently valid access token for the connection (refreshed if asked)."""
        ...


class StaticTokenProvider:
    """A fixed token (scripts, tests); ``force_refresh`` cannot help it, so it is ignored."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def access_token(self, connection_id: str, *, force_refresh: bool = False) -> str:  # noqa: ARG002
        return self._token
