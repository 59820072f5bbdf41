"""Sliding-window rate limiter on the sandbox clock.

"As soon as the number of requests is below the limit, the response will go back to normal"
(Visma) is a sliding window, so that is what this models: at most ``limit`` accepted requests
per key in any ``window_seconds`` of sandbox time. Refused requests do not count.
"""

from __future__ import annotations

import math
import threading
from collections import deque

from koppel.sandbox.common.clock import SandboxClock


class RateLimiter:
    def __init__(self, clock: SandboxClock, *, limit: int, window_seconds: float) -> None:
        if limit < 1 or window_seconds <= 0:
            raise ValueError("limit must be >= 1 and window_seconds > 0")
        self.clock = clock
        self.limit = limit
        self.window_seconds = window_seconds
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str) -> int | None:
        """Count one request for ``key``; None if allowed, else whole seconds until retry."""
        now = self.clock.timestamp()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            horizon = now - self.window_seconds
            while hits and hits[0] <= horizon:
                hits.popleft()
            if len(hits) >= self.limit:
                wait = hits[0] + self.window_seconds - now
                return max(1, math.ceil(wait))
            hits.append(now)
            return None

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()

    def configure(self, *, limit: int | None = None, window_seconds: float | None = None) -> None:
        with self._lock:
            if limit is not None:
                self.limit = limit
            if window_seconds is not None:
                self.window_seconds = window_seconds
            self._hits.clear()
