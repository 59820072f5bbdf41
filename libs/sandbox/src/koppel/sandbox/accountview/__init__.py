"""A local imitation of the AccountView.net web API v3 (see libs/sandbox/ACCOUNTVIEW.md)."""

from koppel.sandbox.accountview.app import create_app, serve
from koppel.sandbox.accountview.seed import build_state, seed_dataset
from koppel.sandbox.accountview.settings import AccountViewSandboxSettings, Knobs, SeedSpec

__all__ = [
    "AccountViewSandboxSettings",
    "Knobs",
    "SeedSpec",
    "build_state",
    "create_app",
    "seed_dataset",
    "serve",
]
