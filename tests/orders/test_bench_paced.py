"""The pure parts of the paced processes benchmark: the pacing schedule and the summary."""

from __future__ import annotations

import pytest

from koppel.orders.bench_paced import arrival_offsets, first_outcomes, paced_summary


def test_arrival_offsets_are_a_steady_rate() -> None:
    assert arrival_offsets(4, 2.0) == [0.0, 0.5, 1.0, 1.5]
    assert arrival_offsets(0, 10.0) == []
    with pytest.raises(ValueError):
        arrival_offsets(3, 0.0)


def test_first_outcomes_keep_the_earliest_per_order() -> None:
    seen = first_outcomes([("a", 3.0), ("b", 2.0), ("a", 1.5), ("a", 4.0)])
    assert seen == {"a": 1.5, "b": 2.0}


def test_summary_of_an_offer_that_kept_up() -> None:
    placed = {"a": 0.0, "b": 1.0, "c": 2.0}
    outcomes = {"a": 0.5, "b": 1.2, "c": 3.0, "other": 9.0}
    summary = paced_summary(3.0, placed, outcomes)
    assert summary["offered_rate"] == 3.0
    assert summary["placed_per_second"] == 1.0
    assert summary["completed"] == 3
    assert summary["placed_to_outcome_p50_ms"] == 500.0
    assert summary["placed_to_outcome_p95_ms"] == 1000.0
    assert summary["placed_to_outcome_max_ms"] == 1000.0
    assert summary["last_placed_to_last_outcome_ms"] == 1000.0
    assert summary["kept_up"] is True


def test_summary_falls_behind_when_the_last_outcome_is_late_or_missing() -> None:
    placed = {"a": 0.0, "b": 1.0}
    late = paced_summary(2.0, placed, {"a": 0.1, "b": 3.5})
    assert late["kept_up"] is False
    assert late["last_placed_to_last_outcome_ms"] == 2500.0
    missing = paced_summary(2.0, placed, {"a": 0.1})
    assert missing["completed"] == 1
    assert missing["kept_up"] is False
    assert missing["last_placed_to_last_outcome_ms"] is None
    assert paced_summary(2.0, {}, {})["kept_up"] is False
