"""Shared test wiring.

Tests marked ``connected`` talk to the real PostgreSQL and RabbitMQ named by
``KOPPEL_TEST_DATABASE_URL`` (e.g. ``postgresql+asyncpg://postgres@127.0.0.1:5432/test``) and
``KOPPEL_TEST_AMQP_URL`` (e.g. ``amqp://guest:guest@127.0.0.1:5672/``). Without those variables
they are deselected (not skipped) so the embedded suite runs on a bare machine; ``.ci/run`` sets
both, so CI always runs them.
"""

from __future__ import annotations

import os

import pytest

DATABASE_URL_VAR = "KOPPEL_TEST_DATABASE_URL"
AMQP_URL_VAR = "KOPPEL_TEST_AMQP_URL"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(DATABASE_URL_VAR) and os.environ.get(AMQP_URL_VAR):
        return
    kept: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for item in items:
        (deselected if item.get_closest_marker("connected") else kept).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@pytest.fixture(scope="session")
def database_url() -> str:
    """The real PostgreSQL (only for ``connected`` tests)."""
    return os.environ[DATABASE_URL_VAR]


@pytest.fixture(scope="session")
def amqp_url() -> str:
    """The real RabbitMQ (only for ``connected`` tests)."""
    return os.environ[AMQP_URL_VAR]
