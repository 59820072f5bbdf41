"""Settings of the eAccounting sandbox (everything but host and port)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from koppel.sandbox.common.faults import FaultConfig


class SeedSizes(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customers: int = Field(80, ge=0)
    articles: int = Field(100, ge=0)  # known ART-nnnn articles (shared with AccountView)
    unknown_articles: int = Field(5, ge=0)  # UNKNOWN-nnn articles, only in eAccounting
    orders: int = Field(200, ge=0)


class EAccountingSandboxSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: str = "koppel-demo"
    client_secret: str = "koppel-demo-secret"
    # Besides these, any http://127.0.0.1:*/... or http://localhost:*/... redirect is accepted.
    redirect_uris: list[str] = Field(default_factory=list)
    seed: int = 42
    empty: bool = False  # only lookup tables (VAT codes, units, ...), no customers/articles/orders
    sizes: SeedSizes = Field(default_factory=SeedSizes)
    token_ttl_seconds: int = Field(3600, ge=1)
    authorization_code_ttl_seconds: int = Field(300, ge=1)
    rate_limit: int = Field(600, ge=1)  # requests per window, per client and endpoint
    rate_window_seconds: float = Field(60.0, gt=0)
    time_scale: float = Field(1.0, gt=0)  # sandbox seconds per real second
    start_time: datetime | None = None  # sandbox clock start (default: real now)
    faults: FaultConfig = Field(default_factory=FaultConfig)
    stock_module: bool = False  # company setting: when on, StockBalance is read-only
    default_page_size: int = Field(50, ge=1)
    max_page_size: int = Field(1000, ge=1)
    # The spec marks every schema additionalProperties: false. Refusing unknown properties
    # catches client typos (e.g. a "Gtin" field that would silently be ignored). Set True to
    # accept and ignore them, like a lenient server.
    allow_unknown_fields: bool = False
