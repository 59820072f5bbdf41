"""Settings every service shares, read from ``KOPPEL_*`` environment variables.

The same code runs embedded (one process, SQLite, in-process bus) and distributed
(PostgreSQL, RabbitMQ): the difference is only ``database_url`` and ``amqp_url`` here
(DESIGN.md section 1). A service that needs more settings subclasses ``KoppelSettings`` in
its ``config.py`` and keeps the ``KOPPEL_`` prefix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from koppel.common.bus.base import RetryPolicy

# Placeholder secret used in development only; the validator refuses it elsewhere.
DEV_SERVICE_TOKEN = "koppel-dev-service-token"


class KoppelSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KOPPEL_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path(".koppel")

    # None: one SQLite file per service under data_dir. May contain "{service}".
    # A PostgreSQL URL is shared by all services: each gets its own schema.
    database_url: str | None = None
    # Where migrations are applied at start: "auto" = run the service's Alembic migrations
    # when it has some, else create_all; "off" = someone else (``koppel migrate``, a k8s Job)
    # does it before the service starts.
    schema_mode: Literal["auto", "migrate", "create", "off"] = "auto"
    # Connections kept open per service, and extra ones closed again on return. A service
    # runs dozens of handlers at once; with 5 kept, the rest churned through new connections
    # (TCP, startup, an SSL probe) on every burst: a tenth of the gateway's and notifier's CPU.
    db_pool_size: int = 10
    db_max_overflow: int = 5

    # None: the in-process bus (embedded mode).
    amqp_url: str | None = None
    retry_delays: tuple[float, ...] = (1.0, 10.0, 60.0, 300.0, 1800.0)
    # Shrinks every delay (retries, relay polling) in tests and demos.
    time_scale: float = Field(default=1.0, gt=0)

    # Shared secret services present to each other's internal API.
    service_token: SecretStr = SecretStr(DEV_SERVICE_TOKEN)
    gateway_url: str = "http://127.0.0.1:8000"

    # None: traces are kept in-process only (no exporter).
    otlp_endpoint: str | None = None
    otel_console: bool = False
    log_level: str = "INFO"
    log_json: bool = True

    relay_batch_size: int = Field(default=100, ge=1)
    relay_poll_interval: float = Field(default=1.0, gt=0)
    outbox_retention_seconds: float = 24 * 3600.0
    inbox_retention_seconds: float = 14 * 24 * 3600.0

    @model_validator(mode="after")
    def _no_placeholder_secrets(self) -> KoppelSettings:
        if (
            self.environment == "production"
            and self.service_token.get_secret_value() == DEV_SERVICE_TOKEN
        ):
            raise ValueError("KOPPEL_SERVICE_TOKEN must be set to a real secret in production")
        return self

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(delays=self.retry_delays, time_scale=self.time_scale)

    def database_url_for(self, service: str) -> str:
        """The URL a service's ``Database`` opens.

        SQLite gets one file per service (single writer per file; every service has its own
        ``outbox`` table), so a SQLite URL without ``{service}`` gets ``-<service>`` added to
        the file name.
        """
        if self.database_url is None:
            path = self.data_dir / f"{service}.db"
            return f"sqlite+aiosqlite:///{path}"
        url = self.database_url
        if "{service}" in url:
            return url.replace("{service}", service)
        if url.startswith("sqlite") and ":memory:" not in url:
            stem, dot, suffix = url.rpartition(".")
            if dot and "/" not in suffix:
                return f"{stem}-{service}.{suffix}"
            return f"{url}-{service}"
        return url
