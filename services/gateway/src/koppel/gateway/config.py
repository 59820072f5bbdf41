"""The gateway's settings (``KOPPEL_*`` environment variables)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr, model_validator

from koppel.common.settings import KoppelSettings
from koppel.gateway.crypto import SecretBox, generate_encryption_key

# Production defaults (reference/*-api-notes.md); a connection may override each one.
EACCOUNTING_API_URL = "https://eaccountingapi.vismaonline.com/v2"
EACCOUNTING_IDENTITY_URL = "https://identity.vismaonline.com"
ACCOUNTVIEW_API_URL = "https://www.accountview.net/api/v3"
ACCOUNTVIEW_AUTHORIZE_URL = "https://www.accountview.net/ams/authorize.aspx"

ENCRYPTION_KEY_FILE = "gateway-encryption.key"


class GatewaySettings(KoppelSettings):
    # Admin key (manages tenants). Unset: no admin access; ``koppel up`` generates one.
    admin_api_key: SecretStr | None = None
    # Comma list of Fernet keys: the first encrypts, all decrypt. Unset outside production:
    # a key file under data_dir is created once and reused.
    encryption_keys: SecretStr | None = None
    # Where users' browsers reach the gateway (the OAuth redirect URI is built from it).
    public_url: str = "http://127.0.0.1:8000"

    scheduler_enabled: bool = True
    scheduler_tick_seconds: float = Field(default=5.0, gt=0)
    scheduler_batch: int = Field(default=200, ge=1)
    # A run with no news for this long no longer blocks the next scheduled run.
    run_stale_after_seconds: int = Field(default=6 * 3600, ge=60)
    # An access token this close to expiry is refreshed before it is handed out.
    token_refresh_skew_seconds: int = Field(default=120, ge=0)
    oauth_state_ttl_seconds: int = Field(default=900, ge=60)
    webhook_max_body: int = Field(default=64 * 1024, ge=1024)

    # Where the public API forwards mappings / value maps (mapper) and the activity log,
    # dead letters and alerts (notifier). Unset: ``gateway_url`` (one address for all, as
    # behind an ingress). The embedded mode routes in-process instead (adapters/services.py).
    mapper_url: str | None = None
    notifier_url: str | None = None
    services_timeout_seconds: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _keys_required_in_production(self) -> GatewaySettings:
        if self.environment == "production" and self.encryption_keys is None:
            raise ValueError("KOPPEL_ENCRYPTION_KEYS must be set in production")
        return self

    @property
    def oauth_redirect_uri(self) -> str:
        return self.public_url.rstrip("/") + "/v1/oauth/callback"

    @property
    def mapper_base_url(self) -> str:
        return self.mapper_url or self.gateway_url

    @property
    def notifier_base_url(self) -> str:
        return self.notifier_url or self.gateway_url

    def secret_box(self) -> SecretBox:
        if self.encryption_keys is not None:
            return SecretBox.from_env_value(self.encryption_keys.get_secret_value())
        return SecretBox([_development_key(self.data_dir)])


def _development_key(data_dir: Path) -> str:
    """The embedded mode's key, kept next to its data so a restart can still decrypt."""
    path = data_dir / ENCRYPTION_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = generate_encryption_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
