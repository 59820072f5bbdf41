"""AMQP topic matching of the in-memory exchange (RabbitMQ's rules)."""

from __future__ import annotations

import pytest

from koppel.common.bus.rabbit import delay_step_ms
from koppel.common.bus.topics import topic_matches


@pytest.mark.parametrize(
    ("pattern", "key", "expected"),
    [
        ("event.order_fetched.v1", "event.order_fetched.v1", True),
        ("event.*.v1", "event.order_fetched.v1", True),
        ("event.*.v1", "event.order_fetched.v2", False),
        ("event.*", "event.order_fetched.v1", False),
        ("event.#", "event", True),
        ("event.#", "event.order_fetched.v1", True),
        ("#", "anything.at.all", True),
        ("#.v1", "event.order_fetched.v1", True),
        ("event.#.v1", "event.v1", True),
        ("event.#.v1", "event.a.b.c.v1", True),
        ("event.#.v1", "event.a.b.c.v2", False),
        ("*.*.v1", "event.order_fetched.v1", True),
        ("*", "event.order", False),
        ("event.order_*.v1", "event.order_fetched.v1", False),
        ("#.#", "a", True),
        ("command.#", "event.order_fetched.v1", False),
    ],
)
def test_topic_matches_like_rabbitmq(pattern: str, key: str, expected: bool) -> None:
    assert topic_matches(pattern, key) is expected


@pytest.mark.parametrize(
    ("seconds", "ms"),
    [(0.05, 50), (0.1, 100), (0.0001, 1), (1.0, 1000), (37.21, 38000), (1.234, 1300)],
)
def test_delay_steps_round_up_to_two_significant_digits(seconds: float, ms: int) -> None:
    assert delay_step_ms(seconds) == ms
