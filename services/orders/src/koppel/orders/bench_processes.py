"""``koppel bench orders --processes``: the orders flow in the distributed mode for real.

Every service (gateway, mapper, notifier, orders, customers) and both sandboxes run as their
own OS process (``koppel serve <service>``, started by the chaos harness's ``Supervisor``,
reused by import), over RabbitMQ and a fresh PostgreSQL database; the tenant is set up
through the gateway's public API like a partner would, and runs are started there. The
bench process only watches: a recorder queue bound to every message gives the fetch to
``OrderSynced`` latencies, the sandboxes' request logs the API calls, and ``/proc`` each
process's peak resident memory (``VmHWM``) and CPU time.

With ``rate`` the orders are offered at that pace instead of all at once (``bench_paced``):
taken out of the eAccounting sandbox and placed again one by one while the gateway is polled
for runs, and the summary adds the latency from an order's placing to its outcome.

Like ``embedded.py`` this is a runner: it imports the CLI's harness only when called.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from koppel.common.events import OrderFailed, OrderFetched, OrderSkipped, OrderSynced

SERVICES = ("gateway", "mapper", "notifier", "orders", "customers")
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# Process names (``/proc/<pid>/stat``) of the servers whose CPU the summary reports.
_SERVERS = {"postgres": "postgresql", "beam.smp": "rabbitmq"}
_RECORDED = (OrderFetched, OrderSynced, OrderSkipped, OrderFailed)


def proc_memory(pid: int) -> dict[str, float]:
    """Peak (``VmHWM``) and current (``VmRSS``) resident memory of a process, in MiB."""
    found: dict[str, float] = {}
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                found[key] = round(int(value.split()[0]) / 1024, 1)
    return found


def server_cpu_seconds() -> dict[str, float]:
    """CPU seconds so far of this machine's PostgreSQL and RabbitMQ server processes, found
    by name (none when they run elsewhere). A connection's PostgreSQL backend that ends
    inside the window takes its CPU with it; the services keep their pooled connections
    for the whole run, so that is rare."""
    totals: dict[str, float] = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                text = stat.read()
        except OSError:
            continue
        name = text[text.find("(") + 1 : text.rfind(")")]
        server = _SERVERS.get(name.split(":")[0].split()[0])
        if server is not None:
            fields = text.rpartition(")")[2].split()
            ticks = int(fields[11]) + int(fields[12])
            totals[server] = totals.get(server, 0.0) + ticks / _TICKS
    return totals


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (``/proc/<pid>/stat``)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


async def run_processes_benchmark(
    n: int,
    *,
    database_url: str,
    amqp_url: str,
    keep_logs: bool = False,
    rate: float | None = None,
) -> dict[str, Any]:
    """``n`` orders through the processes; a fresh database and vhost, dropped at the end.
    ``rate`` (orders/s): offered at that pace rather than all there at the start."""
    from koppel.cli.chaos import infra as infra_mod
    from koppel.cli.chaos.procs import Supervisor, free_port
    from koppel.cli.chaos.runner import CLIENT_ID, CLIENT_SECRET, ChaosOptions, _base_env

    tmp = Path(tempfile.mkdtemp(prefix="koppel-bench-orders-"))
    log_dir = tmp / "logs"
    log_dir.mkdir()
    infra = await infra_mod.create_infra(database_url, amqp_url)
    gateway_port = free_port()
    opts = ChaosOptions(time_scale=1.0, database_url=database_url, amqp_url=amqp_url)
    env = _base_env(infra, opts, gateway_port, tmp / "data")
    # Quieter logs (each line costs CPU in the measured processes) and a pool per process
    # that five processes fit into PostgreSQL's 100 connections with room for others.
    env.update({"KOPPEL_LOG_LEVEL": "WARNING", "KOPPEL_DB_POOL_SIZE": "10"})
    env["KOPPEL_DB_MAX_OVERFLOW"] = "5"
    sup = Supervisor(log_dir, env)
    result: dict[str, Any] = {}
    try:
        result = await _run(
            n, infra, sup, env, gateway_port, log_dir, (CLIENT_ID, CLIENT_SECRET), rate
        )
    finally:
        await sup.stop_all()
        with contextlib.suppress(Exception):
            await infra_mod.drop_infra(infra)
        if keep_logs or not result:
            result["logs"] = str(log_dir)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return result


async def _run(
    n: int,
    infra: Any,
    sup: Any,
    env: dict[str, str],
    gateway_port: int,
    log_dir: Path,
    client: tuple[str, str],
    rate: float | None,
) -> dict[str, Any]:
    from koppel.cli.chaos import setup
    from koppel.cli.chaos.flows import FlowProgress, drive_flow
    from koppel.cli.chaos.procs import free_port
    from koppel.cli.chaos.runner import _prepare_schemas, _serve_defects
    from koppel.common.bus.base import Subscription
    from koppel.common.bus.rabbit import RabbitBus
    from koppel.orders import bench_paced
    from koppel.orders.bench import POLL_INTERVAL
    from koppel.orders.embedded import Recorder

    client_id, client_secret = client
    migrate_defects = await _prepare_schemas(env, log_dir)
    sandbox_args = ["--port", "{port}", "--seed", "42"]
    sandbox_args += ["--client-id", client_id, "--client-secret", client_secret]
    ea = sup.add("sandbox-eaccounting", ["sandbox", "eaccounting", *sandbox_args])
    av = sup.add("sandbox-accountview", ["sandbox", "accountview", *sandbox_args])
    for proc in (ea, av):
        proc.health_path = "/_sandbox/faults"
    ports = {"gateway": gateway_port, "mapper": free_port(), "notifier": free_port()}
    sup.base_env["KOPPEL_MAPPER_URL"] = f"http://127.0.0.1:{ports['mapper']}"
    sup.base_env["KOPPEL_NOTIFIER_URL"] = f"http://127.0.0.1:{ports['notifier']}"
    defects = _serve_defects()
    names = [ea.name, av.name]
    for service in SERVICES:
        args = ["serve", service, "--host", "127.0.0.1", "--port", "{port}"]
        module = "koppel.cli.main"
        if service in defects:
            args, module = args[2:], f"koppel.cli.chaos.{service}_process"
        own_env = {"KOPPEL_SCHEMA_MODE": "auto"} if service in migrate_defects else None
        port = ports.get(service)
        names.append(sup.add(service, args, port=port, env=own_env, module=module).name)
    await sup.start_all(names, timeout=180)
    gateway = sup.processes["gateway"].url

    recorder = Recorder()
    watcher = RabbitBus(infra.amqp_url, connection_name="koppel-bench-recorder")
    suffix = os.urandom(4).hex()
    watcher.subscribe(
        # Only what the summary reads: a queue bound to "#" took a copy of every message and
        # its parsing ran in this process, both counted in the machine's CPU per order.
        Subscription(
            service=f"bench_{suffix}",
            name="recorder",
            patterns=tuple(kind.routing_key() for kind in _RECORDED),
            handler=recorder,
        )
    )
    await watcher.start()
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            # Paced, ``n`` is the orders offered that the flow syncs (about half the seeded
            # ones are drafts or ongoing, which the default settings leave alone).
            seeded = n * 2 + 50 if rate else n
            await setup.reset_sandboxes(http, ea.url, av.url, seed=42, orders=seeded, articles=100)
            held: list[dict[str, Any]] = []
            if rate:
                reseed = setup.eaccounting_reset(seed=42, orders=seeded, articles=100)
                held = await bench_paced.take_orders(http, ea.url, n, reseed=reseed)
            tenant = await setup.create_tenant(http, gateway, env["KOPPEL_ADMIN_API_KEY"])
            await setup.configure_tenant(
                http,
                gateway,
                tenant,
                ea_url=ea.url,
                av_url=av.url,
                client_id=client_id,
                client_secret=client_secret,
                batch_size=1000,
            )
            for url in (ea.url, av.url):
                (await http.delete(f"{url}/_sandbox/requests")).raise_for_status()
            pids = {name: p.popen.pid for name, p in sup.processes.items() if p.popen}
            cpu_before = {name: proc_cpu_seconds(pid) for name, pid in pids.items()}
            servers_before = server_cpu_seconds()
            started = time.perf_counter()
            progress = FlowProgress("orders")
            paced: dict[str, Any] = {}
            if rate:
                paced = await bench_paced.offer(
                    http, gateway, tenant.headers, ea.url, held, rate, recorder
                )
            else:
                await drive_flow(
                    http,
                    gateway,
                    tenant,
                    progress,
                    deadline=time.monotonic() + max(300.0, n * 0.5),
                    run_timeout=max(300.0, n * 0.5),
                )
            seconds = time.perf_counter() - started
            servers = {
                name: round(seconds - servers_before.get(name, 0.0), 2)
                for name, seconds in server_cpu_seconds().items()
            }
            memory = {name: proc_memory(pid) for name, pid in pids.items()}
            cpu = {
                name: round(proc_cpu_seconds(pid) - cpu_before[name], 2)
                for name, pid in pids.items()
            }
            calls = {}
            for name, url in (("eaccounting", ea.url), ("accountview", av.url)):
                response = await http.get(f"{url}/_sandbox/requests", params={"limit": 0})
                calls[name] = {
                    k: int(v)
                    for k, v in response.json()["counts"].items()
                    if "/_sandbox" not in k and "token" not in k.lower() and "/connect/" not in k
                }
    finally:
        await watcher.stop()  # its queue goes with the run's vhost
    runs, run_error = len(progress.runs), progress.error
    if rate:
        runs, run_error = paced.pop("runs_started"), paced.pop("poll_error")
    summary = _summary(runs, run_error, recorder, seconds, memory, cpu, calls, migrate_defects)
    if rate:
        summary.update(paced)
        summary["mode"] += (
            f", paced: {rate} orders/s placed, runs polled through the gateway every "
            f"{POLL_INTERVAL} s at most"
        )
    orders = max(summary["orders"], 1)
    summary["server_cpu_ms_per_order"] = {
        name: round(value * 1000 / orders, 1) for name, value in servers.items()
    }
    return summary


def _summary(
    runs: int,
    run_error: str | None,
    recorder: Any,
    seconds: float,
    memory: dict[str, dict[str, float]],
    cpu: dict[str, float],
    calls: dict[str, dict[str, int]],
    migrate_defects: dict[str, str],
) -> dict[str, Any]:
    from koppel.orders.bench import _ms, _percentile

    fetched_at = {
        m.correlation_id: recorder.seen_at[m.message_id] for m in recorder.of(OrderFetched)
    }
    latencies = [
        recorder.seen_at[m.message_id] - fetched_at[m.correlation_id]
        for m in recorder.of(OrderSynced)
        if m.correlation_id in fetched_at
    ]
    fetched = max(len(fetched_at), 1)
    # From the first order fetched to the last outcome: the pipeline's own rate, without
    # the gateway starting the runs and noticing that they finished.
    outcomes = [
        recorder.seen_at[m.message_id]
        for kind in (OrderSynced, OrderSkipped, OrderFailed)
        for m in recorder.of(kind)
    ]
    busy = max(outcomes) - min(fetched_at.values()) if outcomes and fetched_at else 0.0
    service_cpu = sum(v for k, v in cpu.items() if not k.startswith("sandbox-"))
    return {
        "orders": len(fetched_at),
        "runs": runs,
        "synced": recorder.count(OrderSynced),
        "failed": recorder.count(OrderFailed),
        "skipped": recorder.count(OrderSkipped),
        "run_error": run_error,
        "seconds": round(seconds, 3),
        "orders_per_second": round(len(fetched_at) / seconds, 1) if seconds else 0.0,
        "first_fetch_to_last_outcome_seconds": round(busy, 3),
        "pipeline_orders_per_second": round(len(outcomes) / busy, 1) if busy > 0 else 0.0,
        "latency_p50_ms": _ms(_percentile(latencies, 0.50)),
        "latency_p95_ms": _ms(_percentile(latencies, 0.95)),
        "eaccounting_calls_per_order": round(sum(calls["eaccounting"].values()) / fetched, 2),
        "accountview_calls_per_order": round(sum(calls["accountview"].values()) / fetched, 2),
        "api_calls": calls,
        "peak_rss_mib_per_process": {k: v.get("VmHWM") for k, v in memory.items()},
        "cpu_seconds_per_process": cpu,
        "services_cpu_ms_per_order": round(service_cpu * 1000 / fetched, 1),
        "migrate_defects": migrate_defects,
        "mode": "distributed: every service and sandbox its own process, RabbitMQ + PostgreSQL",
    }
