"""How long to wait between attempts, and when to stop and hand over to the bus."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

import httpx

_TRY_AGAIN = re.compile(r"try again in\s+(\d+(?:\.\d+)?)\s*sec", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded in-connector retries; the bus's delay queues take over after that.

    ``max_wait`` caps a single sleep: a 429 that asks for longer is raised at once (with its
    ``retry_after``) rather than holding a consumer for minutes.
    """

    max_attempts: int = 5
    base_delay: float = 0.25
    max_delay: float = 8.0
    max_wait: float = 90.0
    jitter: float = 0.25

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        if retry_after is not None:
            return max(0.0, retry_after)
        delay = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return delay * (1 + random.uniform(-self.jitter, self.jitter))  # noqa: S311 - not crypto


def retry_after_of(response: httpx.Response, message: str | None) -> float | None:
    """The wait a 429 asked for: ``Retry-After`` seconds, else "Try again in N seconds"."""
    header = response.headers.get("retry-after")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            pass  # an HTTP date: fall back to the message
    if message:
        m = _TRY_AGAIN.search(message)
        if m:
            return float(m.group(1))
    return None
