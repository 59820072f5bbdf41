"""Per-connection settings of the AccountView.net connector.

Much of AccountView's API is known only from third-party clients; every behaviour that is
inferred rather than verified has a knob here (see the README's table).
"""

from __future__ import annotations

from typing import Literal

import httpx
from pydantic import BaseModel, Field, model_validator

from koppel.connectors.common.http import HttpSettings
from koppel.connectors.common.ratelimit import RateLimit
from koppel.connectors.common.retry import RetryPolicy

PRODUCTION_API = "https://www.accountview.net/api/v3"


class AccountViewSettings(BaseModel):
    connection_id: str
    base_url: str = PRODUCTION_API
    company_id: str | None = None
    """Sent as ``x-company``. Leave empty and set ``company_code`` to look it up."""
    company_code: str | None = None
    """The ondernemingscode users know; resolved to an Id through ``GET /companies``."""

    timeout_seconds: float = 60.0
    connect_timeout_seconds: float = 10.0
    total_timeout_seconds: float | None = 180.0
    max_connections: int = 4
    max_in_flight: int = 4

    rate_limit_requests: int = 0
    """No limit is documented; 0 = no bucket (the concurrency bound still applies)."""
    rate_limit_window_seconds: float = 60.0
    rate_limit_scope: Literal["connection", "endpoint"] = "connection"
    """Whether the (unknown) limit counts per client over all paths, or per path."""
    default_429_wait_seconds: float = 30.0

    page_size: int = Field(default=200, ge=1, le=1000)
    paging: Literal["page_number", "last_key"] = "page_number"

    # --- inferred behaviours -----------------------------------------------------------
    error_body_on_200: bool = True
    """Treat ``{"ErrorType","ErrorMessage"}`` as an error even with HTTP 2xx."""
    not_found_is_empty: bool = True
    """A GET answered 404 means "no records" (one client treats it so)."""
    strip_char_values: bool = True
    """Trim FoxPro's right-padding from text values read back."""
    char_match: Literal["equal", "contains"] = "equal"
    """Filter text keys with ``Equal`` or ``Contains`` (if padded values defeat ``Equal``);
    results are always compared exactly (trimmed) on our side."""
    normalise_emails: bool = True
    """Match e-mails trimmed and lower-cased, and write them lower-cased."""
    order_reference_field: str = "COMMENT1"
    """SO_HDR field the source order id is written into (the existence check filters it)."""
    invoice_reference_field: str = "COMMENT1"
    """DJ_PAGE field the source order/invoice id is written into."""
    ean_field: str = "EAN_CODE"
    """ARTICLE field holding the EAN/GTIN (name not publicly documented)."""
    stock_field: str = "QTY_FREE2"
    """ARTICLE quantity read as "available stock" (QTY_FREE2 free, QTY_AVAIL, QTY_TECH ...)."""
    reserved_stock_field: str | None = None
    """If set, stock = ``stock_field`` minus this field."""
    list_filter: Literal["list_of_values", "match_any"] = "list_of_values"
    """How "which of these codes exist" asks in one query: ``FilterIsListOfValues`` with a
    comma list, or one ``Equal`` filter per value with ``matchAnyFilter=true``."""
    list_separator: str = ","
    max_values_per_query: int = 50
    truncation: Literal["warn", "error"] = "warn"
    """Over-long text: truncate and report a warning, or refuse before sending."""
    field_lengths: dict[str, int] = Field(default_factory=dict)
    """Extra/override lengths as ``{"TABLE.FIELD": n}`` for fields whose size is unknown."""
    sales_journal_code: str | None = None
    """DJ_CODE of the sales journal for invoice bookings (DJ2)."""

    max_attempts: int = 5
    backoff_base_seconds: float = 0.5
    backoff_max_seconds: float = 10.0
    max_retry_wait_seconds: float = 90.0
    capture_bodies: bool = True

    @model_validator(mode="after")
    def _company(self) -> AccountViewSettings:
        if not (self.company_id or self.company_code):
            raise ValueError("set company_id or company_code")
        return self

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
            api="accountview",
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
