"""The two kinds of failure every handler and connector speaks in.

The bus decides what to do with a failed message from the exception type alone:
``TransientError`` goes through the retry schedule (delay queues), ``PermanentError``
is parked in the dead-letter queue at once. Anything else counts as transient, because an
unexpected bug is more often a passing fault than a poisoned record, and the delivery limit
still parks it in the end.
"""

from __future__ import annotations

from typing import Any


class KoppelError(Exception):
    """Base of every error Koppel raises on purpose."""

    def __init__(self, reason: str, *, reason_code: str = "error", **context: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.reason_code = reason_code
        self.context = context

    def __str__(self) -> str:
        return self.reason


class TransientError(KoppelError):
    """Worth retrying later: timeouts, 5xx, 429, a broker or database hiccup.

    ``retry_after`` (seconds) is the wait the remote side asked for, when it said one.
    """

    def __init__(
        self,
        reason: str,
        *,
        reason_code: str = "transient",
        retry_after: float | None = None,
        **context: Any,
    ) -> None:
        super().__init__(reason, reason_code=reason_code, **context)
        self.retry_after = retry_after


class PermanentError(KoppelError):
    """Retrying cannot help: bad data, missing mapping, missing product, refused consent."""

    def __init__(self, reason: str, *, reason_code: str = "permanent", **context: Any) -> None:
        super().__init__(reason, reason_code=reason_code, **context)


class MalformedMessage(PermanentError):
    """A bus body that is not a known message or does not validate against its model."""

    def __init__(self, reason: str, *, routing_key: str = "", **context: Any) -> None:
        super().__init__(
            reason, reason_code="malformed_message", routing_key=routing_key, **context
        )
