"""Driving flow runs through the gateway and reading back what the platform recorded."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from koppel.cli.chaos.setup import SetupError, Tenant, call

FINISHED = frozenset({"succeeded", "partially_failed", "failed"})


@dataclass
class FlowProgress:
    flow: str
    runs: list[dict[str, Any]] = field(default_factory=list)
    done: bool = False  # a finished run fetched nothing new: the source is drained
    stuck_runs: list[str] = field(default_factory=list)
    error: str | None = None

    def totals(self) -> dict[str, int]:
        keys = ("fetched", "synced", "skipped", "failed")
        return {k: sum(int(r["counts"].get(k) or 0) for r in self.runs) for k in keys}


async def drive_flow(
    http: httpx.AsyncClient,
    gateway: str,
    tenant: Tenant,
    progress: FlowProgress,
    *,
    deadline: float,
    run_timeout: float,
) -> None:
    """Start runs of one flow until one finishes having fetched nothing (or the deadline).

    A run still ``running`` after ``run_timeout`` is recorded as stuck: its records are
    somewhere between the services, which the end-state check then judges.
    """
    while time.monotonic() < deadline:
        try:
            accepted = await call(
                http,
                "POST",
                f"{gateway}/v1/flows/{progress.flow}/runs",
                headers=tenant.headers,
                ok=(202,),
                retry_on=(409,),
                deadline=max(1.0, deadline - time.monotonic()),
            )
        except SetupError as exc:
            progress.error = str(exc)
            return
        run_id = accepted.json()["run_id"]
        run = await _wait_run(
            http, gateway, tenant, run_id, min(deadline, time.monotonic() + run_timeout)
        )
        if run is None:
            progress.stuck_runs.append(run_id)
            continue
        progress.runs.append(run)
        fetched = run["counts"].get("fetched")
        if run["status"] != "failed" and fetched == 0:
            progress.done = True
            return
        if run["status"] == "failed":
            await asyncio.sleep(2.0)  # e.g. the source was unreachable: try again shortly


async def _wait_run(
    http: httpx.AsyncClient, gateway: str, tenant: Tenant, run_id: str, until: float
) -> dict[str, Any] | None:
    while time.monotonic() < until:
        try:
            response = await http.get(f"{gateway}/v1/runs/{run_id}", headers=tenant.headers)
            if response.status_code == 200:
                run: dict[str, Any] = response.json()
                if run["status"] in FINISHED:
                    return run
        except httpx.HTTPError:
            pass  # the gateway is being restarted
        await asyncio.sleep(1.0)
    return None


async def list_runs(http: httpx.AsyncClient, gateway: str, tenant: Tenant) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = (
            await call(http, "GET", f"{gateway}/v1/runs", headers=tenant.headers, params=params)
        ).json()
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items


async def notifier_pages(
    http: httpx.AsyncClient, url: str, token: str, **params: Any
) -> list[dict[str, Any]]:
    """Every item of a paged notifier internal listing (activity or dead letters)."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    headers = {"Authorization": f"Bearer {token}"}
    while True:
        query = {"limit": 500, **params, **({"cursor": cursor} if cursor else {})}
        query = {k: v for k, v in query.items() if v is not None}
        page = (await call(http, "GET", url, headers=headers, params=query)).json()
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items
