"""Where each service's ``SPEC`` and app factory live (the CLI imports everything)."""

from __future__ import annotations

import importlib
from types import ModuleType

SERVICE_NAMES: tuple[str, ...] = ("gateway", "mapper", "customers", "orders", "catalog", "notifier")


def service_module(name: str) -> ModuleType:
    if name not in SERVICE_NAMES:
        raise SystemExit(f"unknown service {name!r}; choose one of {', '.join(SERVICE_NAMES)}")
    return importlib.import_module(f"koppel.{name}.app")
