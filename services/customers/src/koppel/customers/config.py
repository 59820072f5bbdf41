"""Customers settings: the shared ``KoppelSettings`` (``KOPPEL_*``) plus this service's own."""

from __future__ import annotations

from koppel.common.settings import KoppelSettings


class CustomersSettings(KoppelSettings):
    """Add customers-specific settings here; they read ``KOPPEL_<NAME>`` like the shared ones."""
