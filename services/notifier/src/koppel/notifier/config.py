"""Notifier settings: the shared ``KoppelSettings`` (``KOPPEL_*``) plus this service's own."""

from __future__ import annotations

from pydantic import Field

from koppel.common.settings import KoppelSettings


class NotifierSettings(KoppelSettings):
    # How often the retention job runs, and how many entries one delete removes (small
    # batches keep each transaction short, so the flows' writes never wait long).
    purge_interval_seconds: float = Field(default=3600.0, gt=0)
    purge_batch_size: int = Field(default=2000, ge=1)
    activity_batch_size: int = Field(default=500, ge=1)
    activity_batch_delay_seconds: float = Field(default=0.05, gt=0)
