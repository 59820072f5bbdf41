"""API shapes of alert rules, channels and deliveries. Secrets go in, never out:
``*Public`` models only say whether a secret is set."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from koppel.common.messages import Flow
from koppel.notifier.alerts.domain import RuleKind

Language = Literal["nl", "en"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RuleIn(_In):
    kind: RuleKind
    enabled: bool = True
    flows: list[Flow] | None = Field(default=None, description="None: every flow")
    reason_codes: list[str] | None = Field(default=None, description="None: every reason")
    channel_ids: list[int] | None = Field(default=None, description="None: every channel")
    silent_factor: float | None = Field(
        default=None, gt=1, le=100, description="silent_flow: alert after N x the schedule"
    )


class RulePublic(BaseModel):
    id: int
    kind: str
    enabled: bool
    flows: list[str] | None
    reason_codes: list[str] | None
    channel_ids: list[int] | None
    silent_factor: float | None
    created_at: datetime
    updated_at: datetime


class _ChannelBase(_In):
    name: str = Field(min_length=1, max_length=120)
    enabled: bool = True
    language: Language | None = Field(default=None, description="None: the tenant's language")
    digest_seconds: int | None = Field(
        default=None, ge=60, le=7 * 86400, description="collect alerts, send one per interval"
    )


class EmailChannelIn(_ChannelBase):
    kind: Literal["email"]
    to: list[str] = Field(min_length=1, max_length=20)
    from_address: str | None = None
    smtp_host: str | None = Field(default=None, description="None: the platform's SMTP server")
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] | None = None
    smtp_username: str | None = None
    smtp_password: SecretStr | None = Field(default=None, description="write-only")

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            local, at, domain = address.strip().partition("@")
            if not (local and at and "." in domain):
                raise ValueError(f"not an e-mail address: {address!r}")
        return [a.strip() for a in value]

    def config(self) -> dict[str, Any]:
        return self.model_dump(
            include={
                "to",
                "from_address",
                "smtp_host",
                "smtp_port",
                "smtp_security",
                "smtp_username",
            }
        )

    def secret_value(self) -> SecretStr | None:
        return self.smtp_password


class WebhookChannelIn(_ChannelBase):
    kind: Literal["webhook"]
    url: str = Field(pattern=r"^https?://", max_length=2000)
    secret: SecretStr | None = Field(
        default=None, description="write-only HMAC key (min 16 chars); required on create"
    )

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("the webhook secret needs at least 16 characters")
        return value

    def config(self) -> dict[str, Any]:
        return {"url": self.url}

    def secret_value(self) -> SecretStr | None:
        return self.secret


ChannelIn = Annotated[EmailChannelIn | WebhookChannelIn, Field(discriminator="kind")]


class ChannelPublic(BaseModel):
    id: int
    kind: str
    name: str
    enabled: bool
    language: str | None
    digest_seconds: int | None
    config: dict[str, Any]
    has_secret: bool
    created_at: datetime
    updated_at: datetime


class AttemptPublic(BaseModel):
    attempt: int
    outcome: str
    error: str | None
    retry_in_seconds: float | None
    attempted_at: datetime


class DeliveryPublic(BaseModel):
    id: int
    channel_id: int
    kind: str
    alert_id: UUID | None
    digest_id: int | None
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    reason_code: str | None = None
    flow: str | None = None
    folded_count: int | None = None
    attempt_log: list[AttemptPublic] = Field(default_factory=list)


class DeliveryPage(BaseModel):
    items: list[DeliveryPublic]
    next_cursor: str | None
