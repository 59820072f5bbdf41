"""The typer side of ``koppel chaos`` and ``koppel bench all`` (main.py only registers them)."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Annotated

import typer

from koppel.cli.chaos.defaults import DEFAULT_RECORDS, DEFAULT_TIME_SCALE


def chaos(
    orders: Annotated[int, typer.Option(help="eAccounting orders to sync.")] = DEFAULT_RECORDS,
    articles: Annotated[int, typer.Option(help="AccountView articles to sync.")] = DEFAULT_RECORDS,
    kill_interval: Annotated[float, typer.Option(help="Seconds between SIGKILLs (0: none).")] = 5.0,
    duration_limit: Annotated[
        float, typer.Option(help="Upper bound of the whole run, seconds.")
    ] = 480.0,
    seed: Annotated[int, typer.Option(help="Seed of the data, the faults and the victims.")] = 42,
    broker_drop: Annotated[bool, typer.Option(help="Close all RabbitMQ connections once.")] = True,
    unreachable: Annotated[bool, typer.Option(help="Take AccountView down for a while.")] = True,
    duplicate_share: Annotated[
        float, typer.Option(help="Share of bus messages delivered twice.")
    ] = 0.03,
    time_scale: Annotated[
        float, typer.Option(help="KOPPEL_TIME_SCALE of the services.")
    ] = DEFAULT_TIME_SCALE,
    fuzz: Annotated[
        int, typer.Option(help="Malformed bus messages to publish at the end (0: none).")
    ] = 200,
    replicas: Annotated[int, typer.Option(help="Replicas of orders, customers and catalog.")] = 2,
    flow: Annotated[
        list[str] | None, typer.Option(help="Flows to run (default: orders, products).")
    ] = None,
    database_url: Annotated[str, typer.Option(envvar="KOPPEL_CHAOS_DATABASE_URL")] = (
        "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    ),
    amqp_url: Annotated[str, typer.Option(envvar="KOPPEL_CHAOS_AMQP_URL")] = (
        "amqp://guest:guest@127.0.0.1:5672/"
    ),
    keep_logs: Annotated[
        bool, typer.Option(help="Keep the processes' logs even on success.")
    ] = False,
    output: Annotated[Path | None, typer.Option(help="Also write the summary here.")] = None,
) -> None:
    """Run the distributed mode under fire (kills, broker drop, HTTP faults, duplicates) and
    compare the end state with the seed. Prints a JSON summary; exit 1 when a check fails."""
    from koppel.cli.chaos.runner import ChaosOptions, run_chaos

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    opts = ChaosOptions(
        orders=orders,
        articles=articles,
        kill_interval=kill_interval,
        duration_limit=duration_limit,
        seed=seed,
        broker_drop=broker_drop,
        unreachable=unreachable,
        duplicate_share=duplicate_share,
        time_scale=time_scale,
        fuzz=fuzz,
        replicas=replicas,
        flows=tuple(flow or ("orders", "products")),
        database_url=database_url,
        amqp_url=amqp_url,
        keep_logs=keep_logs,
    )
    summary = asyncio.run(run_chaos(opts))
    text = json.dumps(summary, indent=2, default=str)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text + "\n")
    typer.echo(text)
    if not summary.get("passed"):
        raise typer.Exit(1)


def bench_all(
    output: Annotated[Path, typer.Option(help="Where the results go.")] = Path(
        "bench/results.json"
    ),
    quick: Annotated[bool, typer.Option(help="Small counts (a smoke run).")] = False,
    amqp_url: Annotated[str, typer.Option(envvar="KOPPEL_AMQP_URL")] = (
        "amqp://guest:guest@127.0.0.1:5672/"
    ),
) -> None:
    """Run the bus, mapper, orders and catalog benchmarks (those that exist) into one file."""
    from koppel.cli.chaos.bench import run_all, write_results

    results = run_all(amqp_url=amqp_url, quick=quick)
    write_results(results, output)
    typer.echo(json.dumps(results, indent=2, default=str))
    if any(b["status"] == "failed" for b in results["benchmarks"].values()):
        raise typer.Exit(1)
