"""``koppel chaos``: the distributed mode under fire, judged against the seed.

Sequence: fresh database + vhost -> migrations -> sandboxes and services as processes ->
tenant, connections, mapping and flows through the APIs -> snapshot of the seeded state ->
flows run while ``Chaos`` kills processes, drops the broker's connections, injects HTTP
faults and an AccountView outage, and ``Duplicator`` delivers messages twice -> chaos off,
wait for the queues to drain -> compare the sandboxes' state with the expectation, check the
activity log and the queues -> optional bad-input fuzzing -> JSON summary. Everything is torn
down in ``finally`` (processes, database, vhost); logs stay in the temp dir when a check fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from koppel.cli.chaos import infra as infra_mod
from koppel.cli.chaos import setup
from koppel.cli.chaos.defaults import DEFAULT_RECORDS, DEFAULT_TIME_SCALE
from koppel.cli.chaos.duplicator import Duplicator
from koppel.cli.chaos.expected import build_expectation, compare
from koppel.cli.chaos.flows import FlowProgress, drive_flow, list_runs, notifier_pages
from koppel.cli.chaos.procs import Supervisor, free_port
from koppel.cli.chaos.schedule import Chaos, FaultPlan

log = logging.getLogger("koppel.chaos")

REPLICATED = ("orders", "customers", "catalog")
SINGLE = ("gateway", "mapper", "notifier")
CLIENT_ID, CLIENT_SECRET = "koppel-chaos", "koppel-chaos-secret"


@dataclass
class ChaosOptions:
    orders: int = DEFAULT_RECORDS
    articles: int = DEFAULT_RECORDS
    kill_interval: float = 5.0
    duration_limit: float = 480.0
    seed: int = 42
    broker_drop: bool = True
    unreachable: bool = True
    duplicate_share: float = 0.03
    time_scale: float = DEFAULT_TIME_SCALE
    fuzz: int = 200
    replicas: int = 2
    flows: tuple[str, ...] = ("orders", "products")
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    keep_logs: bool = False


def _base_env(
    infra: infra_mod.Infra, opts: ChaosOptions, gateway_port: int, data: Path
) -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = {k: v for k, v in os.environ.items() if not k.startswith("KOPPEL_")}
    env.update(
        {
            "KOPPEL_ENVIRONMENT": "test",
            "KOPPEL_DATABASE_URL": infra.database_url,
            "KOPPEL_AMQP_URL": infra.amqp_url,
            "KOPPEL_GATEWAY_URL": f"http://127.0.0.1:{gateway_port}",
            "KOPPEL_PUBLIC_URL": f"http://127.0.0.1:{gateway_port}",
            "KOPPEL_SERVICE_TOKEN": secrets.token_urlsafe(24),
            "KOPPEL_ADMIN_API_KEY": secrets.token_urlsafe(24),
            "KOPPEL_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "KOPPEL_TIME_SCALE": str(opts.time_scale),
            "KOPPEL_SCHEMA_MODE": "off",
            "KOPPEL_DATA_DIR": str(data),
            "KOPPEL_RUN_STALE_AFTER_SECONDS": "60",
            "KOPPEL_SCHEDULER_ENABLED": "false",
            "KOPPEL_LOG_LEVEL": "INFO",
            "KOPPEL_DB_POOL_SIZE": "3",
            "KOPPEL_DB_MAX_OVERFLOW": "4",
        }
    )
    return env


async def _migrate(env: dict[str, str], log_dir: Path, services: list[str] | None = None) -> bool:
    """``koppel migrate`` (all services, or ``services``); True when it succeeded."""
    args = [arg for name in services or [] for arg in ("--service", name)]
    with (log_dir / "migrate.log").open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "koppel.cli.main",
            "migrate",
            *args,
            env=env,
            stdout=out,
            stderr=out,
        )
        return await proc.wait() == 0


async def _prepare_schemas(env: dict[str, str], log_dir: Path) -> dict[str, str]:
    """Migrate before any replica starts (two replicas migrating at once would race).

    When ``koppel migrate`` fails for everything together, each service is tried alone;
    one that still fails migrates itself at start (``KOPPEL_SCHEMA_MODE=auto``; safe only
    because those run as a single replica) and the failure is reported.
    """
    if await _migrate(env, log_dir):
        return {}
    failed: dict[str, str] = {}
    for name in (*SINGLE, *REPLICATED):
        if not await _migrate(env, log_dir, [name]):
            failed[name] = f"koppel migrate --service {name} failed (see {log_dir / 'migrate.log'})"
    if any(name in REPLICATED for name in failed):
        raise RuntimeError(f"cannot migrate replicated services: {failed}")
    return failed


def _serve_defects() -> dict[str, str]:
    """Services ``koppel serve`` cannot start today (it calls ``create_app()`` bare)."""
    import inspect

    from koppel.gateway.app import create_app

    required = [
        p.name
        for p in inspect.signature(create_app).parameters.values()
        if p.default is inspect.Parameter.empty
    ]
    if required:
        return {
            "gateway": f"koppel serve gateway: create_app() requires {required}; started "
            "through koppel.cli.chaos.gateway_process instead"
        }
    return {}


async def _settle(infra: infra_mod.Infra, timeout: float) -> dict[str, int]:
    """Wait until every work queue is empty twice in a row (parking queues may hold)."""
    deadline = time.monotonic() + timeout
    calm = 0
    depths: dict[str, int] = {}
    while time.monotonic() < deadline:
        depths = await infra_mod.queue_depths(infra)
        busy = {q: n for q, n in depths.items() if n and not q.endswith(".dead-letters")}
        calm = calm + 1 if not busy else 0
        if calm >= 3:
            break
        await asyncio.sleep(2.0)
    return depths


def _count_in_logs(log_dir: Path, needle: str) -> int:
    total = 0
    for path in log_dir.glob("*.log"):
        with path.open("rb") as fh:
            total += sum(line.count(needle.encode()) for line in fh)
    return total


async def run_chaos(opts: ChaosOptions) -> dict[str, Any]:
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="koppel-chaos-"))
    log_dir = tmp / "logs"
    log_dir.mkdir()
    infra = await infra_mod.create_infra(opts.database_url, opts.amqp_url)
    gateway_port = free_port()
    env = _base_env(infra, opts, gateway_port, tmp / "data")
    sup = Supervisor(log_dir, env)
    summary: dict[str, Any] = {
        "run": infra.name,
        "logs": str(log_dir),
        "options": {k: v for k, v in vars(opts).items() if "url" not in k},
    }
    try:
        summary.update(await _run(opts, infra, sup, env, gateway_port, log_dir, started))
    except Exception as exc:
        summary["error"] = f"{type(exc).__name__}: {exc}"
        summary.setdefault("passed", False)
    finally:
        await sup.stop_all()
        try:
            await infra_mod.drop_infra(infra)
        except Exception as exc:
            summary["cleanup_error"] = str(exc)
        summary["wall_seconds"] = round(time.monotonic() - started, 1)
        if summary.get("passed") and not opts.keep_logs:
            shutil.rmtree(tmp, ignore_errors=True)
            summary["logs"] = None
        else:  # the kept logs come with the verdict they explain
            with contextlib.suppress(OSError):
                (tmp / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary


async def _run(
    opts: ChaosOptions,
    infra: infra_mod.Infra,
    sup: Supervisor,
    env: dict[str, str],
    gateway_port: int,
    log_dir: Path,
    started: float,
) -> dict[str, Any]:
    migrate_defects = await _prepare_schemas(env, log_dir)
    sandbox_args = [
        "--port",
        "{port}",
        "--seed",
        str(opts.seed),
        "--client-id",
        CLIENT_ID,
        "--client-secret",
        CLIENT_SECRET,
    ]
    ea = sup.add(
        "sandbox-eaccounting",
        ["sandbox", "eaccounting", *sandbox_args],
        health_path="/_sandbox/faults",
    )
    av = sup.add(
        "sandbox-accountview",
        ["sandbox", "accountview", *sandbox_args],
        health_path="/_sandbox/faults",
    )
    names = [ea.name, av.name]
    serve_defects = _serve_defects()
    # The gateway proxies the public mapping, value-map and activity routes to the mapper and
    # the notifier, so it must know where they listen before it starts.
    ports = {"gateway": gateway_port, "mapper": free_port(), "notifier": free_port()}
    sup.base_env["KOPPEL_MAPPER_URL"] = f"http://127.0.0.1:{ports['mapper']}"
    sup.base_env["KOPPEL_NOTIFIER_URL"] = f"http://127.0.0.1:{ports['notifier']}"
    for service in SINGLE:
        port = ports[service]
        own_env = {"KOPPEL_SCHEMA_MODE": "auto"} if service in migrate_defects else None
        if service in serve_defects:
            args, module = (
                ["--host", "127.0.0.1", "--port", "{port}"],
                f"koppel.cli.chaos.{service}_process",
            )
        else:
            args, module = (
                ["serve", service, "--host", "127.0.0.1", "--port", "{port}"],
                "koppel.cli.main",
            )
        names.append(sup.add(service, args, port=port, env=own_env, module=module).name)
    for service in REPLICATED:
        for i in range(1, opts.replicas + 1):
            names.append(
                sup.add(
                    f"{service}-{i}", ["serve", service, "--host", "127.0.0.1", "--port", "{port}"]
                ).name
            )
    await sup.start_all(names, timeout=180)
    gateway = sup.processes["gateway"].url
    notifier = sup.processes["notifier"].url
    token = env["KOPPEL_SERVICE_TOKEN"]
    result: dict[str, Any] = {
        "setup": {"migrate_defects": migrate_defects, "serve_defects": serve_defects}
    }

    async with httpx.AsyncClient(timeout=30) as http:
        sizes = await setup.reset_sandboxes(
            http, ea.url, av.url, seed=opts.seed, orders=opts.orders, articles=opts.articles
        )
        result["setup"]["sandboxes"] = sizes
        tenant = await setup.create_tenant(http, gateway, env["KOPPEL_ADMIN_API_KEY"])
        result["setup"]["connections"] = await setup.configure_tenant(
            http,
            gateway,
            tenant,
            ea_url=ea.url,
            av_url=av.url,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            batch_size=1000,
        )
        ea_before = (await http.get(f"{ea.url}/_sandbox/state")).json()
        av_before = (await http.get(f"{av.url}/_sandbox/state")).json()
        expectation = build_expectation(ea_before, av_before)
        await http.delete(f"{ea.url}/_sandbox/requests")
        await http.delete(f"{av.url}/_sandbox/requests")

        plan = FaultPlan(
            kill_interval=opts.kill_interval,
            broker_drop_at=20.0 if opts.broker_drop else None,
            unreachable_at=12.0 if opts.unreachable else None,
            seed=opts.seed,
        )
        killable = [n for n in names if not n.startswith("sandbox-")]
        chaos = Chaos(plan, sup, infra, killable=killable, ea_url=ea.url, av_url=av.url)
        dup = Duplicator(infra.amqp_url, share=opts.duplicate_share, seed=opts.seed)
        await dup.start()
        await chaos.start()
        sync_started = time.monotonic()
        deadline = started + opts.duration_limit * 0.75
        progress = [FlowProgress(flow) for flow in opts.flows]
        try:
            await asyncio.gather(
                *(
                    drive_flow(
                        http,
                        gateway,
                        tenant,
                        p,
                        deadline=deadline,
                        run_timeout=opts.duration_limit / 3,
                    )
                    for p in progress
                )
            )
        finally:
            await chaos.stop()
            await dup.stop()
        sync_seconds = time.monotonic() - sync_started
        settle_budget = max(20.0, started + opts.duration_limit - time.monotonic() - 20)
        depths = await _settle(infra, settle_budget)

        ea_after = (await http.get(f"{ea.url}/_sandbox/state")).json()
        av_after = (await http.get(f"{av.url}/_sandbox/state")).json()
        activity_url = f"{notifier}/internal/notifier/tenants/{tenant.id}/activity"
        failures = await notifier_pages(http, activity_url, token, status="failed")
        failures += await notifier_pages(http, activity_url, token, status="dead_lettered")
        dl_url = f"{notifier}/internal/notifier/tenants/{tenant.id}/dead-letters"
        dead_letters = await notifier_pages(http, dl_url, token, status=None)
        runs = await list_runs(http, gateway, tenant)
        ea_requests = (await http.get(f"{ea.url}/_sandbox/requests?limit=0")).json()
        av_requests = (await http.get(f"{av.url}/_sandbox/requests?limit=0")).json()

        verdict = compare(expectation, ea_after, av_after, failures)
        stuck = {q: n for q, n in depths.items() if n and not q.endswith(".dead-letters")}
        parked = sum(n for q, n in depths.items() if q.endswith(".dead-letters"))
        fuzz: dict[str, Any] | None = None
        if opts.fuzz > 0:
            from koppel.cli.chaos.fuzz import fuzz_consumers

            fuzz = await fuzz_consumers(
                http,
                infra,
                notifier=notifier,
                token=token,
                count=opts.fuzz,
                seed=opts.seed,
                crashed=sup.crashed,
            )

    o, p = verdict["orders"], verdict["products"]
    lost = len(o["lost"]) + len(p["lost"])
    duplicated = len(o["duplicated"]) + len(p["duplicated"])
    unexpected = len(o["unexpected"]) + len(p["unexpected"])
    checks = {
        "no_lost_records": lost == 0,
        "no_duplicated_records": duplicated == 0,
        "no_unexpected_records": unexpected == 0,
        "missing_products_logged_with_reason": not o["missing_product_not_logged"],
        "no_record_failed_for_an_unexpected_reason": not (
            o["failed_unexpectedly"] or p["failed_unexpectedly"]
        ),
        "nothing_stuck_in_work_queues": not stuck,
        "parked_messages_listed_as_dead_letters": parked <= len(dead_letters),
        "every_flow_drained": all(pr.done for pr in progress),
        "processes_came_back": not chaos.log.restart_failures,
    }
    if fuzz is not None:
        checks["fuzz_inputs_all_dead_lettered_or_refused"] = fuzz["unaccounted"] == 0
        checks["fuzz_no_crash"] = not fuzz["crashed"]
    result.update(
        {
            "passed": all(checks.values()),
            "checks": checks,
            "records_expected": expectation.expected_records,
            "synced": o["synced"] + p["synced"],
            "skipped": p["skipped_blocked"],
            "failed_by_reason": _merge(o["failed"], p["failed"]),
            "lost": lost,
            "duplicated": duplicated,
            "unexpected": unexpected,
            "orders": _trim(o),
            "products": _trim(p),
            "flows": {
                pr.flow: {
                    "done": pr.done,
                    "runs": len(pr.runs),
                    "stuck_runs": pr.stuck_runs,
                    "totals": pr.totals(),
                    "error": pr.error,
                }
                for pr in progress
            },
            "runs_by_status": _count(r["status"] for r in runs),
            "retries": {
                # "(transient)" for a surprise, "(transient, <reason code>)" otherwise.
                "handler_transient_failures_logged": _count_in_logs(
                    log_dir, "handler failed (transient"
                ),
                "faults_injected": {
                    "eaccounting": chaos.injected.get(ea.url),
                    "accountview": chaos.injected.get(av.url),
                },
                "requests": {
                    "eaccounting": ea_requests.get("total"),
                    "accountview": av_requests.get("total"),
                },
            },
            "dead_letters": {
                "listed": len(dead_letters),
                "parked_in_queues": parked,
                "by_reason": _count(d["reason_code"] for d in dead_letters),
            },
            "stuck_queues": stuck,
            "kills": len(chaos.log.kills),
            "killed": _count(k["name"] for k in chaos.log.kills),
            "broker_drops": chaos.log.broker_drops,
            "unreachable_windows": chaos.log.unreachable_windows,
            "duplicates": dup.summary(),
            "restart_failures": chaos.log.restart_failures,
            "unexpected_exits": {n: p_.exits for n, p_ in sup.processes.items() if p_.exits},
            "sync_seconds": round(sync_seconds, 1),
            "chaos_events": chaos.log.events[-40:],
            "fuzz": fuzz,
        }
    )
    return result


def _count(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[str(value)] = counts.get(str(value), 0) + 1
    return counts


def _merge(*dicts: dict[str, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in dicts:
        for k, v in d.items():
            out[k] = out.get(k, 0) + v
    return out


def _trim(section: dict[str, Any], keep: int = 15) -> dict[str, Any]:
    """Counts plus the first few keys of every list (the full lists can be thousands)."""
    out: dict[str, Any] = {}
    for key, value in section.items():
        if isinstance(value, list):
            out[key] = len(value)
            if value:
                out[f"{key}_sample"] = value[:keep]
        else:
            out[key] = value
    return out


with contextlib.suppress(Exception):  # quiet aio-pika's reconnect chatter in the summary
    logging.getLogger("aio_pika").setLevel(logging.ERROR)
    logging.getLogger("aiormq").setLevel(logging.ERROR)
