"""Per-tenant connections to the two APIs: see ``koppel.connectors.tenants``."""

from koppel.connectors.tenants import (
    ACCOUNTVIEW,
    EACCOUNTING,
    Connections,
    GatewayConnections,
    StaticConnections,
    scaled_registry,
)

__all__ = [
    "ACCOUNTVIEW",
    "EACCOUNTING",
    "Connections",
    "GatewayConnections",
    "StaticConnections",
    "scaled_registry",
]
