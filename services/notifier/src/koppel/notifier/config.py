"""Notifier settings: the shared ``KoppelSettings`` (``KOPPEL_*``) plus this service's own."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from koppel.common.settings import KoppelSettings


class NotifierSettings(KoppelSettings):
    # How often the retention job runs, and how many entries one delete removes (small
    # batches keep each transaction short, so the flows' writes never wait long).
    purge_interval_seconds: float = Field(default=3600.0, gt=0)
    purge_batch_size: int = Field(default=2000, ge=1)
    activity_batch_size: int = Field(default=500, ge=1)
    activity_batch_delay_seconds: float = Field(default=0.05, gt=0)

    # --- alerts (koppel.notifier.alerts) ------------------------------------------------------
    # Links in alerts point at <base>/app/activity/<correlation_id>.
    alert_public_base_url: str = "http://127.0.0.1:8000"
    alert_default_language: Literal["nl", "en"] = "nl"
    # One alert per tenant x flow x reason code within this window; the rest are counted.
    alert_fold_window_seconds: float = Field(default=900.0, gt=0)
    # Delays between attempts of a failed delivery (scaled by time_scale); then "failed".
    alert_retry_delays: tuple[float, ...] = (5.0, 30.0, 120.0, 600.0, 1800.0)
    # How often the sender looks for due deliveries, and how long a claim holds (a sender
    # that died mid-send leaves its claim; after the lease another one sends again).
    alert_poll_seconds: float = Field(default=1.0, gt=0)
    alert_lease_seconds: float = Field(default=120.0, gt=0)
    alert_send_concurrency: int = Field(default=16, ge=1)
    # The periodic check: silent flows, folded counts whose window closed, due digests.
    alert_check_seconds: float = Field(default=30.0, gt=0)
    alert_silent_factor: float = Field(default=3.0, gt=1)
    # How long the consumer keeps a tenant's rules and channels in memory (not time-scaled).
    # Saves through this replica's API and TenantConfigChanged drop them at once; this bounds
    # how long a change made through another replica takes to apply. 0: read on every event.
    alert_rules_cache_seconds: float = Field(default=30.0, ge=0)
    # Sent and failed deliveries (with their attempts and alerts) are kept this long.
    alert_log_retention_days: int = Field(default=30, ge=1)
    alert_webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # Webhooks to private, loopback or link-local addresses are refused (SSRF) unless this is
    # set: for receivers on the deployment's own network, and for local tests.
    alert_webhook_allow_private: bool = False
    alert_smtp_timeout_seconds: float = Field(default=15.0, gt=0)
    # Defaults for e-mail channels that bring no SMTP server of their own.
    alert_smtp_host: str | None = None
    alert_smtp_port: int = 587
    alert_smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    alert_smtp_username: str | None = None
    alert_smtp_password: SecretStr | None = None
    alert_smtp_from: str = "alerts@koppel.local"
    # Fernet keys (comma-separated, newest first): the same variable as the gateway's, so
    # channel secrets are encrypted at rest with the platform's key.
    encryption_keys: SecretStr | None = None
