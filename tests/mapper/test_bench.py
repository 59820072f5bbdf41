"""The benchmark runs and reports its figures (speed itself is printed, not asserted)."""

from __future__ import annotations

from koppel.mapper.bench import run_mapper_benchmark


def test_benchmark_reports_rates() -> None:
    result = run_mapper_benchmark(count=300)
    print(result)
    assert result["orders"] == 300
    for key in (
        "default_mapping_per_second",
        "with_overrides_per_second",
        "sales_invoice_per_second",
        "expression_evaluations_per_second",
    ):
        assert result[key] > 0
    assert result["goal_per_second"] == 5000
