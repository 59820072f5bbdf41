"""A controllable clock shared by everything time-dependent in a sandbox.

Token expiry, rate-limit windows and ``ChangedUtc`` stamps all read this clock, so a test can
freeze it, move it forward, or let it run faster than real time (``time_scale``) instead of
sleeping.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class SandboxClock:
    """UTC wall clock = anchor + (real seconds since anchor) * time_scale, unless frozen."""

    def __init__(self, start: datetime | None = None, *, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self._lock = threading.Lock()
        self._time_scale = time_scale
        self._anchor_wall = _utc(start) if start is not None else datetime.now(UTC)
        self._anchor_real = time.monotonic()
        self._frozen: datetime | None = None
        self._last: datetime | None = None

    @property
    def time_scale(self) -> float:
        return self._time_scale

    @property
    def frozen(self) -> bool:
        return self._frozen is not None

    def now(self) -> datetime:
        """Current sandbox time (timezone-aware UTC), never going backwards between calls."""
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            elapsed = (time.monotonic() - self._anchor_real) * self._time_scale
            current = self._anchor_wall + timedelta(seconds=elapsed)
            if self._last is not None and current < self._last:
                current = self._last
            self._last = current
            return current

    def timestamp(self) -> float:
        """Sandbox time as POSIX seconds (handy for windows and expiries)."""
        return self.now().timestamp()

    def set(self, when: datetime) -> None:
        """Jump to ``when``; keeps running (or stays frozen) from there."""
        with self._lock:
            when = _utc(when)
            if self._frozen is not None:
                self._frozen = when
            self._anchor_wall = when
            self._anchor_real = time.monotonic()
            self._last = None

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward by ``seconds`` of sandbox time and return the new time."""
        current = self.now()
        self.set(current + timedelta(seconds=seconds))
        return self.now()

    def freeze(self, when: datetime | None = None) -> None:
        """Stop the clock at ``when`` (default: now)."""
        current = _utc(when) if when is not None else self.now()
        with self._lock:
            self._frozen = current

    def unfreeze(self) -> None:
        """Let the clock run again from where it stood."""
        with self._lock:
            if self._frozen is None:
                return
            self._anchor_wall = self._frozen
            self._anchor_real = time.monotonic()
            self._frozen = None
            self._last = None

    def set_time_scale(self, time_scale: float) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        current = self.now()
        with self._lock:
            self._anchor_wall = current
            self._anchor_real = time.monotonic()
            self._time_scale = time_scale


def _utc(when: datetime) -> datetime:
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def isoformat_z(when: datetime, *, millis: bool = True) -> str:
    """RFC 3339 UTC text with a ``Z`` suffix, as the vendors' APIs print timestamps."""
    when = _utc(when)
    if millis:
        return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
