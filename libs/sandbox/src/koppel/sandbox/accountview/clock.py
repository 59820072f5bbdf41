"""AccountView's view of the shared sandbox clock: naive local time of the server.

AccountView datetimes carry no zone (notes section 4); the server is Dutch, so the sandbox
renders the shared UTC clock in ``Europe/Amsterdam`` (a setting) and drops the zone.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from koppel.sandbox.common import SandboxClock


class LocalClock:
    def __init__(self, clock: SandboxClock, timezone: str = "Europe/Amsterdam") -> None:
        self.clock = clock
        self.tz = ZoneInfo(timezone)

    def now(self) -> datetime:
        return self.clock.now().astimezone(self.tz).replace(tzinfo=None, microsecond=0)
