"""A local imitation of the Visma eAccounting API v2 and its identity server.

``create_app(EAccountingSandboxSettings(...))`` -> FastAPI app; ``serve(settings, host, port)``.
"""

from __future__ import annotations

from koppel.sandbox.eaccounting.app import create_app, serve
from koppel.sandbox.eaccounting.seed import Dataset, build_dataset
from koppel.sandbox.eaccounting.settings import EAccountingSandboxSettings, SeedSizes

__all__ = [
    "Dataset",
    "EAccountingSandboxSettings",
    "SeedSizes",
    "build_dataset",
    "create_app",
    "serve",
]
