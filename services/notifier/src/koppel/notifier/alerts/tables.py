"""Alert tables. JSON columns are TEXT (the notifier's convention); times are UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from koppel.common.messages import utcnow

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _time(nullable: bool = False) -> Any:
    return sa.Column(sa.DateTime(timezone=True), nullable=nullable)


def _text(nullable: bool = True) -> Any:
    return sa.Column(sa.Text(), nullable=nullable)


class AlertChannel(SQLModel, table=True):
    """Where a tenant's alerts go. ``config`` holds no secret; ``secret_encrypted`` holds the
    SMTP password or the webhook signing secret (Fernet)."""

    __tablename__ = "alert_channels"
    __table_args__ = (sa.Index("ix_alert_channels_tenant", "tenant_id", "id"),)

    id: int | None = Field(default=None, sa_column=sa.Column(_BIGINT, primary_key=True))
    tenant_id: str = Field(max_length=64)
    name: str = Field(max_length=120)
    kind: str = Field(max_length=16)  # email | webhook
    enabled: bool = True
    language: str | None = Field(default=None, max_length=8)
    digest_seconds: int | None = None
    config: str = Field(default="{}", sa_column=_text(nullable=False))
    secret_encrypted: str | None = Field(default=None, sa_column=_text())
    created_at: datetime = Field(default_factory=utcnow, sa_column=_time())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_time())


class AlertRule(SQLModel, table=True):
    """Which events alert. ``flows``, ``reason_codes``, ``channel_ids``: JSON lists, or NULL
    for "any" / "every enabled channel"."""

    __tablename__ = "alert_rules"
    __table_args__ = (sa.Index("ix_alert_rules_tenant", "tenant_id", "kind"),)

    id: int | None = Field(default=None, sa_column=sa.Column(_BIGINT, primary_key=True))
    tenant_id: str = Field(max_length=64)
    kind: str = Field(max_length=32)  # failure | dead_letter | needs_consent | silent_flow
    enabled: bool = True
    flows: str | None = Field(default=None, sa_column=_text())
    reason_codes: str | None = Field(default=None, sa_column=_text())
    channel_ids: str | None = Field(default=None, sa_column=_text())
    silent_factor: float | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=_time())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_time())


class Alert(SQLModel, table=True):
    """One decided alert (after folding). ``folded_count``: repeats of the same tenant x flow
    x reason code that were held back before it; ``summary``: sent only to report them."""

    __tablename__ = "alerts"
    __table_args__ = (sa.Index("ix_alerts_tenant_created", "tenant_id", "created_at"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    tenant_id: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    flow: str | None = Field(default=None, max_length=32)
    reason_code: str = Field(max_length=128)
    fold_key: str = Field(max_length=255)
    content: str = Field(sa_column=_text(nullable=False))  # domain.AlertDraft as JSON
    folded_count: int = 0
    folded_since: datetime | None = Field(default=None, sa_column=_time(nullable=True))
    summary: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_column=_time())


class AlertFold(SQLModel, table=True):
    """The storm guard of one tenant x fold key: when its last alert went out, how many
    repeats were held back since, and the latest of them (for the window-close summary)."""

    __tablename__ = "alert_folds"

    tenant_id: str = Field(primary_key=True, max_length=64)
    fold_key: str = Field(primary_key=True, max_length=255)
    window_started_at: datetime | None = Field(default=None, sa_column=_time(nullable=True))
    folded: int = 0
    last_content: str | None = Field(default=None, sa_column=_text())
    channel_ids: str | None = Field(default=None, sa_column=_text())


class AlertDelivery(SQLModel, table=True):
    """One alert (or one digest) to one channel: the alert outbox and the delivery log.

    status: pending -> sending -> sent | retrying -> ... | failed; digest channels park rows
    as ``queued`` until a digest row (``kind='digest'``) takes them (``digested``).
    """

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        sa.Index("ix_alert_deliveries_due", "status", "next_attempt_at"),
        sa.Index("ix_alert_deliveries_tenant", "tenant_id", "id"),
        sa.Index("ix_alert_deliveries_channel", "channel_id", "status"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(_BIGINT, primary_key=True))
    tenant_id: str = Field(max_length=64)
    channel_id: int = Field(sa_column=sa.Column(_BIGINT, nullable=False))
    kind: str = Field(default="alert", max_length=16)  # alert | digest
    alert_id: UUID | None = None
    digest_id: int | None = Field(default=None, sa_column=sa.Column(_BIGINT, nullable=True))
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_column=_time(nullable=True))
    lease_until: datetime | None = Field(default=None, sa_column=_time(nullable=True))
    last_error: str | None = Field(default=None, sa_column=_text())
    created_at: datetime = Field(default_factory=utcnow, sa_column=_time())
    sent_at: datetime | None = Field(default=None, sa_column=_time(nullable=True))


class AlertAttempt(SQLModel, table=True):
    """One try of one delivery: sent, retry (with the delay chosen) or failed."""

    __tablename__ = "alert_attempts"
    __table_args__ = (sa.Index("ix_alert_attempts_delivery", "delivery_id", "attempt"),)

    id: int | None = Field(default=None, sa_column=sa.Column(_BIGINT, primary_key=True))
    tenant_id: str = Field(max_length=64)
    delivery_id: int = Field(sa_column=sa.Column(_BIGINT, nullable=False))
    attempt: int
    outcome: str = Field(max_length=16)  # sent | retry | failed
    error: str | None = Field(default=None, sa_column=_text())
    retry_in_seconds: float | None = None
    attempted_at: datetime = Field(default_factory=utcnow, sa_column=_time())


class FlowHealth(SQLModel, table=True):
    """Last successful run per tenant x flow, and when its silence was last alerted."""

    __tablename__ = "alert_flow_health"

    tenant_id: str = Field(primary_key=True, max_length=64)
    flow: str = Field(primary_key=True, max_length=32)
    last_success_at: datetime | None = Field(default=None, sa_column=_time(nullable=True))
    silent_alerted_at: datetime | None = Field(default=None, sa_column=_time(nullable=True))


ALERT_TABLES: list[type[SQLModel]] = [
    AlertChannel,
    AlertRule,
    Alert,
    AlertFold,
    AlertDelivery,
    AlertAttempt,
    FlowHealth,
]
