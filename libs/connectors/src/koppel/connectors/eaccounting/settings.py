"""Per-connection settings of the eAccounting connector (defaults: Visma production)."""

from __future__ import annotations

from typing import Literal

import httpx
from pydantic import BaseModel, Field

from koppel.connectors.common.http import HttpSettings
from koppel.connectors.common.ratelimit import RateLimit
from koppel.connectors.common.retry import RetryPolicy

PRODUCTION_API = "https://eaccountingapi.vismaonline.com/v2"
PRODUCTION_IDENTITY = "https://identity.vismaonline.com"
SANDBOX_API = "https://eaccountingapi-sandbox.test.vismaonline.com/v2"
SANDBOX_IDENTITY = "https://identity-sandbox.test.vismaonline.com"


class EAccountingSettings(BaseModel):
    connection_id: str
    base_url: str = PRODUCTION_API
    identity_url: str = PRODUCTION_IDENTITY
    """Used by whoever refreshes tokens (the gateway), never by the connector itself."""

    timeout_seconds: float = 30.0
    connect_timeout_seconds: float = 10.0
    total_timeout_seconds: float | None = 120.0
    max_connections: int = 10
    max_in_flight: int = 8

    # Published limit: 600 requests a minute per client and endpoint. 0 turns limiting off.
    rate_limit_requests: int = 600
    rate_limit_window_seconds: float = 60.0
    rate_limit_scope: Literal["resource", "path"] = "resource"
    """``resource``: ``/customers`` and ``/customers/{id}`` share one bucket (never over the
    limit, whichever way Visma counts "endpoint/URL"); ``path``: one bucket per exact path."""
    default_429_wait_seconds: float = 60.0

    page_size: int = Field(default=200, ge=1, le=1000)
    in_chunk_size: int = Field(default=20, ge=1)
    """Values per ``or`` filter when asking which of many SKUs exist (keeps URLs short)."""

    email_match: Literal["tolower", "exact"] = "tolower"
    """``tolower(EmailAddress) eq '...'`` (OData standard function, case-insensitive) or plain
    ``eq`` with the given and the lower-cased address."""
    barcode_lookup: Literal["lambda", "scan"] = "lambda"
    """Find by barcode with ``Barcodes/any(...)`` (falls back to a scan if refused) or scan."""

    max_attempts: int = 5
    backoff_base_seconds: float = 0.25
    backoff_max_seconds: float = 8.0
    max_retry_wait_seconds: float = 90.0
    capture_bodies: bool = True

    def rate_limit(self) -> RateLimit | None:
        if self.rate_limit_requests <= 0:
            return None
        return RateLimit(self.rate_limit_requests, self.rate_limit_window_seconds)

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.max_attempts,
            base_delay=self.backoff_base_seconds,
            max_delay=self.backoff_max_seconds,
            max_wait=self.max_retry_wait_seconds,
        )

    def http_settings(self) -> HttpSettings:
        return HttpSettings(
            api="eaccounting",
            connection_id=self.connection_id,
            base_url=self.base_url,
            timeout=httpx.Timeout(self.timeout_seconds, connect=self.connect_timeout_seconds),
            total_timeout=self.total_timeout_seconds,
            max_connections=self.max_connections,
            max_in_flight=self.max_in_flight,
            rate_limit=self.rate_limit(),
            retry=self.retry_policy(),
            default_429_wait=self.default_429_wait_seconds,
            capture_bodies=self.capture_bodies,
        )
