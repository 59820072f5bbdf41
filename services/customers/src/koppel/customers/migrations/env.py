"""Alembic environment of customers: see ``koppel.common.migrations``."""

import koppel.customers.models  # noqa: F401  (registers the tables for autogenerate)
from koppel.common.migrations import run_env

run_env()
