"""Where the notifier learns a tenant's redaction switch and retention: the gateway's internal
API, cached until ``TenantConfigChanged``. Tests and tools inject a fixed source instead."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from koppel.common.gateway_client import InternalGatewayClient

DEFAULT_RETENTION_DAYS = 30


@dataclass(frozen=True)
class Preferences:
    redact_personal_data: bool = False
    retention_days: int = DEFAULT_RETENTION_DAYS


PreferencesSource = Callable[[str], Awaitable[Preferences]]


def preferences_from_settings(settings: dict[str, Any]) -> Preferences:
    """Read the two switches from the gateway's tenant settings document."""
    tenant = settings.get("tenant", settings)
    if not isinstance(tenant, dict):
        tenant = settings
    return Preferences(
        redact_personal_data=bool(tenant.get("redact_personal_data", False)),
        retention_days=int(tenant.get("retention_days", DEFAULT_RETENTION_DAYS)),
    )


def gateway_preferences(client: InternalGatewayClient) -> PreferencesSource:
    async def source(tenant_id: str) -> Preferences:
        return preferences_from_settings(await client.settings(tenant_id))

    return source


def fixed_preferences(preferences: Preferences | None = None) -> PreferencesSource:
    chosen = preferences or Preferences()

    async def source(_tenant_id: str) -> Preferences:
        return chosen

    return source
