"""Request and response bodies of the public API. Inputs forbid unknown fields.

Roles: ``*Create`` / ``*Update`` / ``*Put`` are what a client sends, ``*Public`` what it gets
back (never a secret), ``*Created`` the one response that shows a new secret once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from koppel.gateway.domain import DEFAULT_LANGUAGE, Language, valid_cron

T = TypeVar("T")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Pass as ?cursor= for the next page; null on the last."
    )


# --- tenants and keys -------------------------------------------------------------------------


class TenantCreate(_In):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "Bakkerij de Vries BV"}]}
    )

    name: str = Field(min_length=1, max_length=200)
    redact_personal_data: bool = False
    retention_days: int = Field(default=30, ge=1, le=3650)
    language: Language = Field(
        default=DEFAULT_LANGUAGE, description="Language of alert texts: nl (default) or en."
    )


class TenantUpdate(_In):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"retention_days": 14}]}
    )

    name: str | None = Field(default=None, min_length=1, max_length=200)
    redact_personal_data: bool | None = None
    retention_days: int | None = Field(default=None, ge=1, le=3650)
    language: Language | None = Field(
        default=None, description="Language of alert texts: nl or en."
    )


class TenantPublic(BaseModel):
    id: str
    name: str
    redact_personal_data: bool
    retention_days: int
    language: Language
    created_at: datetime
    updated_at: datetime


class TenantCreated(BaseModel):
    tenant: TenantPublic
    api_key: str = Field(description="The tenant's first API key. Shown once.")
    webhook_secret: str = Field(description="Signs inbound webhooks. Shown once.")


class ApiKeyCreate(_In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "webshop"}]})

    name: str = Field(default="default", min_length=1, max_length=200)


class ApiKeyPublic(BaseModel):
    id: str
    name: str
    prefix: str = Field(description="The first characters of the key, to recognise it.")
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The full key. Shown once.")


class WebhookSecretRotated(BaseModel):
    webhook_secret: str = Field(
        description="The new secret. Shown once; the old one stops working."
    )


# --- connections ------------------------------------------------------------------------------

ConnectionStatus = Literal["connected", "needs_consent", "failing"]


class ConnectionPut(_In):
    """The connection's settings. Omitted secrets keep their stored value; null clears them."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"client_id": "my-app", "client_secret": "…", "company": "DEMO"}],
        },
    )

    api_base_url: AnyHttpUrl | None = Field(
        default=None, description="Default: the production API."
    )
    auth_base_url: AnyHttpUrl | None = Field(
        default=None,
        description="eAccounting: the identity server; AccountView: its authorize page.",
    )
    redirect_uri: AnyHttpUrl | None = Field(
        default=None, description="Default: this gateway's /v1/oauth/callback."
    )
    client_id: str | None = Field(default=None, min_length=1, max_length=500)
    client_secret: SecretStr | None = Field(default=None, description="Write-only.")
    company: str | None = Field(
        default=None, min_length=1, max_length=200, description="AccountView x-company id or code."
    )
    refresh_token: SecretStr | None = Field(
        default=None, description="Write-only: a refresh token obtained elsewhere."
    )


class ConnectionPublic(BaseModel):
    system: str
    status: ConnectionStatus
    last_error: str | None
    api_base_url: str
    auth_base_url: str
    redirect_uri: str
    client_id: str | None
    company: str | None
    has_client_secret: bool
    has_refresh_token: bool
    access_token_expires_at: datetime | None
    last_refreshed_at: datetime | None
    updated_at: datetime | None


class ConnectionCheck(BaseModel):
    name: str
    ok: bool
    detail: str


class ConnectionTestResult(BaseModel):
    system: str
    ok: bool
    status: ConnectionStatus
    checks: list[ConnectionCheck]


class AuthorizeResponse(BaseModel):
    authorize_url: str = Field(description="Send the user's browser here.")
    expires_at: datetime = Field(description="The state in the URL is valid until then.")


class OAuthCallbackResult(BaseModel):
    system: str
    status: ConnectionStatus


# --- flows and runs ---------------------------------------------------------------------------


class ScheduleIn(_In):
    interval_seconds: int | None = Field(default=None, ge=60, le=7 * 86400)
    cron: str | None = Field(default=None, max_length=120, description="Five-field cron, UTC.")

    @field_validator("cron")
    @classmethod
    def _cron_parses(cls, value: str | None) -> str | None:
        if value is not None and not valid_cron(value):
            raise ValueError("not a valid cron expression")
        return value

    @model_validator(mode="after")
    def _one_of(self) -> ScheduleIn:
        if (self.interval_seconds is None) == (self.cron is None):
            raise ValueError("give exactly one of interval_seconds or cron")
        return self


class FlowPut(_In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "enabled": True,
                    "schedule": {"interval_seconds": 300},
                    "settings": {
                        "statuses": ["shipped", "invoiced"],
                        "target": "sales_order",
                        "batch_size": 100,
                    },
                }
            ]
        },
    )

    enabled: bool
    schedule: ScheduleIn | None = Field(
        default=None, description="Null: only manual and webhook runs."
    )
    settings: dict[str, Any] = Field(
        default_factory=dict, description="The flow's settings (see the flow's schema)."
    )


class FlowPublic(BaseModel):
    flow: str
    enabled: bool
    schedule: ScheduleIn | None
    settings: dict[str, Any]
    next_run_at: datetime | None
    updated_at: datetime | None


class RunAccepted(BaseModel):
    run_id: str
    status: str


class RunCounts(BaseModel):
    fetched: int | None
    synced: int
    skipped: int
    failed: int
    filtered_out: int


class RunPublic(BaseModel):
    id: str
    flow: str
    trigger: str
    dry_run: bool
    record_id: str | None
    status: str
    counts: RunCounts
    reason_code: str | None
    reason: str | None
    started_at: datetime
    ended_at: datetime | None


class WebhookBody(_In):
    record_id: str | None = Field(default=None, min_length=1, max_length=200)


class AuditEntry(BaseModel):
    actor: str
    section: str
    action: str
    at: datetime


# --- internal API -----------------------------------------------------------------------------


class InternalToken(BaseModel):
    """The one answer that carries a secret: only on the internal API, only to services."""

    system: str
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_at: datetime
    api_base_url: str
    company: str | None


class TokenRefreshRequest(_In):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"rejected_access_token": "eyJ…"}]}
    )

    rejected_access_token: str | None = Field(
        default=None,
        max_length=8000,
        description="The token the API just refused (401); refreshed only if still current.",
    )
