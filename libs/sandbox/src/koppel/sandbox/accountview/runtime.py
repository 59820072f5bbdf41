"""Everything one running AccountView sandbox holds: data, knobs, tokens, clock, faults, log."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from koppel.sandbox.accountview.auth import TokenStore
from koppel.sandbox.accountview.clock import LocalClock
from koppel.sandbox.accountview.seed import build_state
from koppel.sandbox.accountview.settings import AccountViewSandboxSettings, Knobs, SeedSpec
from koppel.sandbox.accountview.store import State
from koppel.sandbox.common import (
    FaultConfig,
    FaultInjector,
    RateLimiter,
    RequestLog,
    SandboxClock,
)


class Runtime:
    def __init__(self, settings: AccountViewSandboxSettings) -> None:
        self.settings = settings
        self.knobs: Knobs = settings.knobs.model_copy()
        self.clock = SandboxClock(settings.clock_start)
        self.local = LocalClock(self.clock, settings.timezone)
        self.seed_spec: SeedSpec = settings.seed
        self.state: State = build_state(settings.seed, settings.ean_field)
        self.tokens = TokenStore(
            self.clock,
            settings.client_id,
            settings.client_secret,
            settings.access_token_ttl_seconds,
            settings.refresh_token_ttl_seconds,
            settings.auth_code_ttl_seconds,
        )
        self.faults = FaultInjector(FaultConfig(**(settings.faults or {})))
        self.requests = RequestLog()
        # counts per "METHOD /path BUSINESSOBJECT" (the shared log counts per path only)
        self.by_business_object: Counter[str] = Counter()
        self.rate_limiter: RateLimiter | None = None
        self.apply_knobs(self.knobs)

    def now(self) -> datetime:
        return self.local.now()

    def apply_knobs(self, knobs: Knobs) -> None:
        self.knobs = knobs
        limit = knobs.rate_limit_per_minute
        self.rate_limiter = (
            RateLimiter(self.clock, limit=limit, window_seconds=60.0) if limit else None
        )

    def reset(self, spec: SeedSpec) -> None:
        self.seed_spec = spec
        self.state = build_state(spec, self.settings.ean_field)
