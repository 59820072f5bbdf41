"""``koppel bench all``: every benchmark that exists, one JSON file.

Benchmarks are looked up by module and function name, so one that is not written yet is
reported as ``missing`` instead of breaking the others; one that raises is ``failed`` with
its error. Each result is a dict of numbers as the benchmark returns it.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import platform
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCHMARKS: tuple[tuple[str, str, str], ...] = (
    ("bus", "koppel.common.bus.bench", "run_bus_benchmark"),
    ("mapper", "koppel.mapper.bench", "run_mapper_benchmark"),
    ("orders", "koppel.orders.bench", "run_orders_benchmark"),
    ("catalog", "koppel.catalog.bench", "run_catalog_benchmark"),
)


def _resolve(module: str, function: str) -> Callable[..., Any] | str:
    try:
        loaded = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return f"module {module} does not exist yet"
        raise
    found = getattr(loaded, function, None)
    if found is None:
        return f"{module} has no {function} yet"
    return found  # type: ignore[no-any-return]


def _call(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    accepted = inspect.signature(fn).parameters
    given = {k: v for k, v in kwargs.items() if k in accepted}
    result = fn(**given)
    if inspect.isawaitable(result):
        result = asyncio.run(_await(result))
    return result


async def _await(value: Any) -> Any:
    return await value


def run_all(*, amqp_url: str, quick: bool = False) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, module, function in BENCHMARKS:
        resolved = _resolve(module, function)
        if isinstance(resolved, str):
            results[name] = {"status": "missing", "detail": resolved}
            continue
        started = time.perf_counter()
        try:
            count = 2000 if quick else 20000
            kwargs = {"count": count, "amqp_url": amqp_url}
            if "transport" in inspect.signature(resolved).parameters:
                # The bus benchmark runs once per transport.
                value: Any = {
                    transport: _call(resolved, {**kwargs, "transport": transport})
                    for transport in ("memory", "rabbit")
                }
            else:
                value = _call(resolved, kwargs)
            results[name] = {"status": "ok", "result": value}
        except Exception as exc:
            results[name] = {
                "status": "failed",
                "error": f"{type(exc).__name__}: {exc}",
                "trace": traceback.format_exc(limit=3).splitlines()[-3:],
            }
        results[name]["seconds"] = round(time.perf_counter() - started, 2)
    return {
        "at": datetime.now(UTC).isoformat(),
        "host": {"python": platform.python_version(), "machine": platform.machine()},
        "benchmarks": results,
    }


def write_results(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
