"""The chaos run at CI size: real RabbitMQ and PostgreSQL, every service its own process.

150 orders and 150 articles while processes are SIGKILLed every ~8 s, the broker's
connections are closed once, both sandboxes inject HTTP faults, AccountView goes down for a
while and 3% of bus messages arrive twice; then a few malformed messages. The whole summary
is printed (``-s``) so a failure shows which check broke and why.
"""

from __future__ import annotations

import json

import pytest

from koppel.cli.chaos.runner import ChaosOptions, run_chaos

pytestmark = [pytest.mark.connected, pytest.mark.slow]


@pytest.mark.timeout(280)
async def test_nothing_lost_nothing_twice_under_fire(database_url: str, amqp_url: str) -> None:
    summary = await run_chaos(
        ChaosOptions(
            orders=150,
            articles=150,
            kill_interval=8.0,
            duration_limit=200.0,
            seed=7,
            fuzz=40,
            database_url=database_url,
            amqp_url=amqp_url,
        )
    )
    print(json.dumps(summary, indent=2, default=str))
    assert "error" not in summary, summary.get("error")
    assert summary["kills"] >= 2
    assert summary["broker_drops"] == 1
    assert summary["lost"] == 0
    assert summary["duplicated"] == 0
    assert summary["unexpected"] == 0
    failed = [name for name, ok in summary["checks"].items() if not ok]
    assert not failed, failed
