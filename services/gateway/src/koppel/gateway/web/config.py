"""Settings of the web pages (``KOPPEL_WEB_*`` environment variables)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KOPPEL_WEB_", extra="ignore")

    # Where Jaeger's UI lives; a journey links to ``{jaeger_url}/trace/{trace_id}``.
    jaeger_url: str = "http://127.0.0.1:16686"
    # A session ends this long after sign-in (the API key itself may be revoked sooner).
    session_ttl_seconds: int = Field(default=8 * 3600, ge=60)
    page_size: int = Field(default=50, ge=5, le=200)
