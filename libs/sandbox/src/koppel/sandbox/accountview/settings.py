"""Settings of the AccountView sandbox: fixed at start, plus knobs changeable at run time."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

QtyAvailMode = Literal["tech", "free", "economic"]


class Knobs(BaseModel):
    """Behaviours the research notes mark as inferred [I] or unknown [?].

    Each can be set in the settings and changed at run time via ``POST /_sandbox/knobs``.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    # Return AccountView error bodies with HTTP 200 instead of 4xx (GO checks 2xx bodies too).
    errors_with_status_200: bool = False
    # Answer a GET whose result is empty with 404 (PAS treats 404 as non-fatal) instead of 200.
    not_found_on_empty: bool = False
    # FoxPro '=' is case-sensitive: Equal/notequal/Contains on e-mail fields respect case.
    email_case_sensitive: bool = True
    # Right-pad C values to full field width in responses; filters then compare padded values,
    # so Equal on a shorter literal finds nothing and clients must use Contains.
    pad_char_fields: bool = False
    # Requests per minute per client before 429 (None: unlimited, as no limit is documented).
    rate_limit_per_minute: int | None = None
    # Added latency per request, as of the relay to an on-premise installation.
    latency_ms: int = 0
    # What QTY_AVAIL means: tech (physical stock), free (tech - reserved) or economic
    # (tech - reserved + on order). QTY_FREE2 is always tech - reserved.
    qty_avail_mode: QtyAvailMode = "tech"
    # Whether stock movements (order reservations, admin stock changes) bump ARTICLE.CNG_DATE.
    stock_change_bumps_cng_date: bool = False
    # Name of an extra read-only ARTICLE field showing the reserved quantity (None: not served,
    # the real field is unknown).
    reserved_field: str | None = None
    # Whether the token response carries expires_in (unknown in the notes).
    token_expires_in_field: bool = True
    # Refuse sales-order lines for blocked articles (REC_BLK).
    refuse_blocked_articles: bool = True
    # Largest PageSize accepted (1-1000 seen in clients); larger asks are an error.
    max_page_size: int = 1000
    # PageSize when a client sends none (None: everything).
    default_page_size: int | None = None


class SeedSpec(BaseModel):
    """Sizes and switches of the seeded dataset."""

    model_config = ConfigDict(extra="forbid")

    seed: int = 42
    # No articles, debtors, orders or invoices; set-up tables (VAT, ledger, journals) stay.
    empty: bool = False
    articles: int = Field(default=100, ge=0, le=20000)
    debtors: int = Field(default=20, ge=0, le=5000)
    orders: int = Field(default=3, ge=0, le=1000)
    invoices: int = Field(default=2, ge=0, le=1000)
    companies: int = Field(default=2, ge=1, le=5)
    # E-mail addresses the first debtors get, so tests can line them up with eAccounting
    # customers (see ACCOUNTVIEW.md for the default rule).
    shared_emails: list[str] | None = None


class AccountViewSandboxSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: str = "koppel-demo"
    client_secret: str = "koppel-demo-secret"
    access_token_ttl_seconds: int = 3600
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    auth_code_ttl_seconds: int = 600
    seed: SeedSpec = Field(default_factory=SeedSpec)
    knobs: Knobs = Field(default_factory=Knobs)
    # Name of the EAN/barcode field of ARTICLE (unknown in the notes).
    ean_field: str = "BAR_CODE"
    # Time zone of the server clock: AccountView datetimes carry no zone.
    timezone: str = "Europe/Amsterdam"
    # Fixed start of the shared sandbox clock (UTC; naive means UTC); None: the real time.
    clock_start: datetime | None = None
    # Fault plan for sandbox-common fault injection (passed through as given).
    faults: dict[str, Any] | None = None
