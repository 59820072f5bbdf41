"""Alembic environment of catalog: see ``koppel.common.migrations``."""

import koppel.catalog.models  # noqa: F401  (registers the tables for autogenerate)
from koppel.common.migrations import run_env

run_env()
