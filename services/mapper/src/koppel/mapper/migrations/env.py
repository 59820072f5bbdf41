"""Alembic environment of mapper: see ``koppel.common.migrations``."""

import koppel.mapper.models  # noqa: F401  (registers the tables for autogenerate)
from koppel.common.migrations import run_env

run_env()
