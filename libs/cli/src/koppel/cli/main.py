"""The ``koppel`` command line.

``koppel up`` runs the whole platform in one process (embedded default: in-process bus,
SQLite under ``./.koppel``, the bundled sandboxes of both APIs). ``koppel serve <service>``
runs one service for the distributed mode (RabbitMQ + PostgreSQL from ``KOPPEL_AMQP_URL`` and
``KOPPEL_DATABASE_URL``). Imports are local to each command so ``koppel --help`` stays fast.
"""

from __future__ import annotations

import asyncio
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help=(
        "Koppel keeps AccountView and Visma eAccounting in sync.\n\n"
        "koppel up: everything in one process on the embedded default (no broker or database "
        "server needed). koppel serve SERVICE: one service of the distributed mode."
    ),
    no_args_is_help=True,
    add_completion=False,
)
sandbox_app = typer.Typer(
    help="Run a local imitation of one of the two APIs.", no_args_is_help=True
)
bench_app = typer.Typer(help="Benchmarks that print JSON lines.", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(bench_app, name="bench")


class ServiceName(StrEnum):
    gateway = "gateway"
    orders = "orders"
    customers = "customers"
    catalog = "catalog"
    mapper = "mapper"
    notifier = "notifier"


HostOpt = Annotated[str, typer.Option(help="Interface to listen on.")]
DataDirOpt = Annotated[Path, typer.Option(help="Where the embedded mode keeps its data.")]


@app.command()
def up(
    host: HostOpt = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Gateway port.")] = 8000,
    data_dir: DataDirOpt = Path(".koppel"),
    sandboxes: Annotated[
        bool, typer.Option(help="Start the bundled sandboxes and a demo tenant wired to them.")
    ] = True,
    eaccounting_port: Annotated[int, typer.Option(help="eAccounting sandbox port.")] = 8701,
    accountview_port: Annotated[int, typer.Option(help="AccountView sandbox port.")] = 8702,
) -> None:
    """Run all six services in one process (embedded default). SIGINT or SIGTERM stops it."""
    from koppel.cli.embedded import run_embedded

    asyncio.run(
        run_embedded(
            host=host,
            port=port,
            data_dir=data_dir,
            with_sandboxes=sandboxes,
            eaccounting_port=eaccounting_port,
            accountview_port=accountview_port,
        )
    )


@app.command()
def serve(
    service: Annotated[ServiceName, typer.Argument(help="The service to run.")],
    host: HostOpt = "0.0.0.0",
    port: Annotated[int, typer.Option(help="HTTP port (health, metrics, API).")] = 8000,
) -> None:
    """Run one service (distributed mode: KOPPEL_AMQP_URL and KOPPEL_DATABASE_URL)."""
    from koppel.cli.distributed import run_service

    asyncio.run(run_service(service.value, host=host, port=port))


@app.command()
def migrate(
    service: Annotated[
        list[ServiceName] | None, typer.Option(help="Only these services (default: all).")
    ] = None,
) -> None:
    """Apply every service's database migrations (a Kubernetes Job runs this)."""
    from koppel.cli.distributed import migrate_services

    names = [s.value for s in service] if service else [s.value for s in ServiceName]
    asyncio.run(migrate_services(names))


@app.command("rotate-key")
def rotate_key() -> None:
    """Re-encrypt every stored secret with the first key of KOPPEL_ENCRYPTION_KEYS."""
    from koppel.cli.distributed import rotate_encryption_key

    count = asyncio.run(rotate_encryption_key())
    typer.echo(json.dumps({"re_encrypted": count}))


@app.command()
def demo(
    gateway_url: Annotated[str, typer.Option(help="The gateway's URL.")] = "http://127.0.0.1:8000",
    eaccounting_url: Annotated[
        str, typer.Option(help="The eAccounting sandbox's URL.")
    ] = "http://127.0.0.1:8701",
    accountview_url: Annotated[
        str, typer.Option(help="The AccountView sandbox's URL.")
    ] = "http://127.0.0.1:8702",
    data_dir: DataDirOpt = Path(".koppel"),
) -> None:
    """Create (once) a demo tenant wired to the two sandboxes, through the public API."""
    from koppel.cli.demo import ensure_demo_tenant

    asyncio.run(
        ensure_demo_tenant(
            gateway_url=gateway_url,
            data_dir=data_dir,
            eaccounting_url=eaccounting_url,
            accountview_url=accountview_url,
        )
    )


SeedOpt = Annotated[int, typer.Option(help="Seed of the deterministic demo data.")]
EmptyOpt = Annotated[bool, typer.Option("--empty", help="Start without demo data.")]
ClientIdOpt = Annotated[str, typer.Option(help="The pre-registered OAuth client id.")]
ClientSecretOpt = Annotated[str, typer.Option(help="The pre-registered OAuth client secret.")]
FaultsOpt = Annotated[
    Path | None, typer.Option(help="JSON file with fault-injection shares (see /_sandbox/faults).")
]


@sandbox_app.command("eaccounting")
def sandbox_eaccounting(
    host: HostOpt = "127.0.0.1",
    port: int = 8701,
    seed: SeedOpt = 42,
    empty: EmptyOpt = False,
    client_id: ClientIdOpt = "koppel-demo",
    client_secret: ClientSecretOpt = "koppel-demo-secret",
    faults: FaultsOpt = None,
) -> None:
    """Visma eAccounting v2 (and its identity server) on HOST:PORT."""
    from koppel.cli.sandboxes import serve_eaccounting

    serve_eaccounting(
        host=host,
        port=port,
        seed=seed,
        empty=empty,
        client_id=client_id,
        client_secret=client_secret,
        faults=faults,
    )


@sandbox_app.command("accountview")
def sandbox_accountview(
    host: HostOpt = "127.0.0.1",
    port: int = 8702,
    seed: SeedOpt = 42,
    empty: EmptyOpt = False,
    client_id: ClientIdOpt = "koppel-demo",
    client_secret: ClientSecretOpt = "koppel-demo-secret",
    faults: FaultsOpt = None,
) -> None:
    """AccountView.net web API v3 on HOST:PORT."""
    from koppel.cli.sandboxes import serve_accountview

    serve_accountview(
        host=host,
        port=port,
        seed=seed,
        empty=empty,
        client_id=client_id,
        client_secret=client_secret,
        faults=faults,
    )


class BytecodeMode(StrEnum):
    as_is = "as-is"
    cached = "cached"
    both = "both"


@bench_app.command("sandbox")
def bench_sandbox(
    runs: Annotated[int, typer.Option(min=1, help="Cold starts per sandbox.")] = 5,
    bytecode: Annotated[
        BytecodeMode,
        typer.Option(help="as-is: this environment; cached: with .pyc files (a temp prefix)."),
    ] = BytecodeMode.both,
    burn: Annotated[
        int, typer.Option(min=0, help="Processes spinning on the CPU meanwhile (a load).")
    ] = 0,
) -> None:
    """Cold start of both sandboxes: exec of `koppel sandbox ...` until seeded data is served."""
    from koppel.sandbox.coldstart import MODES, run

    modes = MODES if bytecode is BytecodeMode.both else (bytecode.value,)
    for result in run(runs=runs, modes=modes, burn=burn):
        typer.echo(json.dumps(result))


class BusTransport(StrEnum):
    memory = "memory"
    rabbit = "rabbit"
    both = "both"


@bench_app.command("bus")
def bench_bus(
    transport: BusTransport = BusTransport.both,
    count: int = 20000,
    amqp_url: Annotated[str, typer.Option(envvar="KOPPEL_AMQP_URL")] = (
        "amqp://guest:guest@127.0.0.1:5672/"
    ),
) -> None:
    """Persistent messages published and consumed per second, p50/p95 latency."""
    from koppel.common.bus.bench import run_bus_benchmark

    transports = ["memory", "rabbit"] if transport is BusTransport.both else [transport.value]
    for name in transports:
        result = asyncio.run(run_bus_benchmark(name, count=count, amqp_url=amqp_url))
        typer.echo(json.dumps({"benchmark": "bus", **result}))


@bench_app.command("orders")
def bench_orders(
    count: int = 2000,
    amqp_url: Annotated[
        str | None, typer.Option(help="RabbitMQ URL (with --database-url).")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="PostgreSQL URL; both given: RabbitMQ + PostgreSQL.")
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option(
            help="Offer the orders at this many per second while runs poll for them every "
            "0.25 s at most; adds the latency from placing an order to its outcome."
        ),
    ] = None,
    processes: Annotated[
        bool,
        typer.Option(
            "--processes",
            help="Every service and sandbox its own process (RabbitMQ + PostgreSQL, both "
            "URLs default to the local servers); peak RSS per process.",
        ),
    ] = False,
) -> None:
    """Orders end to end through mapper, orders and customers against both sandboxes."""
    import os

    from koppel.orders.bench import run_orders_benchmark

    # The load average beside the numbers: on a shared 2-core machine they mean little alone.
    before = [round(x, 2) for x in os.getloadavg()]
    if processes:
        from koppel.orders.bench_processes import run_processes_benchmark

        result = asyncio.run(
            run_processes_benchmark(
                count,
                database_url=database_url or "postgresql+asyncpg://postgres@127.0.0.1:5432/test",
                amqp_url=amqp_url or "amqp://guest:guest@127.0.0.1:5672/",
                rate=rate,
            )
        )
    else:
        result = asyncio.run(
            run_orders_benchmark(count, amqp_url=amqp_url, database_url=database_url, rate=rate)
        )
    after = [round(x, 2) for x in os.getloadavg()]
    typer.echo(
        json.dumps(
            {"benchmark": "orders", **result, "loadavg_before": before, "loadavg_after": after}
        )
    )


@bench_app.command("catalog")
def bench_catalog(
    count: Annotated[
        int | None, typer.Option(help="Articles (per tenant); 5,000, or 1,000 rate-limited.")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="PostgreSQL URL (fresh schemas); default SQLite.")
    ] = None,
    rate_limited: Annotated[
        bool,
        typer.Option(
            "--rate-limited",
            help="Under eAccounting's 600/minute (time-scaled): tenants at once, then replicas.",
        ),
    ] = False,
    tenants: Annotated[int, typer.Option(help="Rate-limited: tenants syncing at once.")] = 2,
    time_scale: Annotated[
        float, typer.Option(help="Rate-limited pipeline: real seconds per limit second.")
    ] = 0.5,
    replicas: Annotated[
        int, typer.Option(help="Rate-limited: catalog replicas sharing one tenant (0: skip).")
    ] = 2,
    replica_time_scale: Annotated[
        float, typer.Option(help="Rate-limited replicas: real seconds per limit second.")
    ] = 0.2,
    amqp_url: Annotated[
        str | None,
        typer.Option(help="Rate-limited, with --database-url: replicas through the pipeline."),
    ] = None,
) -> None:
    """Initial article sync, calls per article by outcome, and a no-change re-run; with
    ``--rate-limited``, 429s and throughput against the limit per tenant and for replicas."""
    if rate_limited:
        from koppel.catalog.bench_ratelimit import run_ratelimit_benchmark, run_replicas_benchmark

        n = count or 1000
        asyncio.run(
            run_ratelimit_benchmark(
                n, tenants=tenants, time_scale=time_scale, database_url=database_url
            )
        )
        if replicas > 1 and amqp_url and database_url:
            from koppel.catalog.bench_replicas import run_replicated_benchmark

            asyncio.run(
                run_replicated_benchmark(
                    n,
                    replicas=replicas,
                    time_scale=replica_time_scale,
                    database_url=database_url,
                    amqp_url=amqp_url,
                )
            )
        elif replicas > 1:
            asyncio.run(
                run_replicas_benchmark(
                    n,
                    replicas=replicas,
                    time_scale=replica_time_scale,
                    database_url=database_url,
                )
            )
        return
    from koppel.catalog.bench import run_catalog_benchmark

    result = asyncio.run(run_catalog_benchmark(count or 5000, database_url=database_url))
    typer.echo(json.dumps({"benchmark": "catalog", **result}))


@bench_app.command("notifier")
def bench_notifier(count: int = 30000) -> None:
    """Activity-log entries recorded per second (batched writer, redaction on)."""
    from koppel.notifier.bench import run_notifier_benchmark

    typer.echo(json.dumps({"benchmark": "notifier", **asyncio.run(run_notifier_benchmark(count))}))


@bench_app.command("mapper")
def bench_mapper(count: int = 20000) -> None:
    """Order mappings per second on one core (default mapping and a tenant override)."""
    from koppel.mapper.bench import run_mapper_benchmark

    typer.echo(json.dumps({"benchmark": "mapper", **run_mapper_benchmark(count=count)}))


# Chaos and load suite (libs/cli/src/koppel/cli/chaos/): registered here, written there.
def _register_chaos() -> None:
    from koppel.cli.chaos.command import bench_all, chaos

    app.command("chaos")(chaos)
    bench_app.command("all")(bench_all)


_register_chaos()

if __name__ == "__main__":
    app()
