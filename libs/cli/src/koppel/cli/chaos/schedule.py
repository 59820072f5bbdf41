"""The fault schedule of a chaos run.

While the flows sync, ``Chaos.run()``:

* SIGKILLs a random service process every ``kill_interval`` seconds and restarts it (the
  restart waits for ``/readyz`` in the background, so the next kill may come meanwhile);
* closes every RabbitMQ connection of the run's vhost once, at ``broker_drop_at`` seconds;
* makes the AccountView sandbox unreachable from ``unreachable_at`` for
  ``unreachable_seconds`` (the other fault shares stay on meanwhile);
* keeps 5% 5xx, 5% 429, 2% timeouts and 1% dropped connections on both sandboxes.

``stop()`` ends all of it and turns the sandboxes' faults off, so the tail of the run can
drain its retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from koppel.cli.chaos.infra import Infra, close_connections
from koppel.cli.chaos.procs import Supervisor

log = logging.getLogger("koppel.chaos")


@dataclass
class FaultPlan:
    error_5xx: float = 0.05
    rate_429: float = 0.05
    timeout: float = 0.02
    drop: float = 0.01
    timeout_seconds: float = 3.0
    kill_interval: float = 5.0
    broker_drop_at: float | None = 20.0
    unreachable_at: float | None = 12.0
    unreachable_seconds: float = 8.0
    seed: int = 42

    def sandbox_faults(self, *, unreachable: bool = False) -> dict[str, Any]:
        return {
            "error_5xx": self.error_5xx,
            "rate_429": self.rate_429,
            "timeout": self.timeout,
            "timeout_seconds": self.timeout_seconds,
            "drop": self.drop,
            "unreachable": unreachable,
            "seed": self.seed,
        }


@dataclass
class ChaosLog:
    kills: list[dict[str, Any]] = field(default_factory=list)
    restart_failures: list[str] = field(default_factory=list)
    broker_drops: int = 0
    unreachable_windows: int = 0
    events: list[str] = field(default_factory=list)


class Chaos:
    def __init__(
        self,
        plan: FaultPlan,
        supervisor: Supervisor,
        infra: Infra,
        *,
        killable: list[str],
        ea_url: str,
        av_url: str,
    ) -> None:
        self.plan = plan
        self.supervisor = supervisor
        self.infra = infra
        self.killable = killable
        self.ea_url = ea_url
        self.av_url = av_url
        self.log = ChaosLog()
        self.random = random.Random(plan.seed)
        self._tasks: list[asyncio.Task[None]] = []
        self._restarts: set[asyncio.Task[None]] = set()
        self._started = 0.0
        self._restarting: set[str] = set()
        self.injected: dict[str, dict[str, int]] = {}  # sandbox url -> fault kind -> count

    def _note(self, text: str) -> None:
        stamp = time.monotonic() - self._started
        self.log.events.append(f"{stamp:7.1f}s {text}")
        log.info("chaos: %s", text)

    async def _faults(self, url: str, body: dict[str, Any]) -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            # A new configuration clears the sandbox's counters: bank them first.
            before = (await http.get(f"{url}/_sandbox/faults")).json().get("injected", {})
            bank = self.injected.setdefault(url, {})
            for kind, n in before.items():
                bank[kind] = bank.get(kind, 0) + int(n)
            response = await http.post(f"{url}/_sandbox/faults", json=body)
            response.raise_for_status()

    async def start(self) -> None:
        self._started = time.monotonic()
        faults = self.plan.sandbox_faults()
        await asyncio.gather(self._faults(self.ea_url, faults), self._faults(self.av_url, faults))
        self._note(f"sandbox faults on: {faults}")
        if self.plan.kill_interval > 0 and self.killable:
            self._tasks.append(asyncio.create_task(self._killer()))
        if self.plan.broker_drop_at is not None:
            self._tasks.append(asyncio.create_task(self._broker_drop(self.plan.broker_drop_at)))
        if self.plan.unreachable_at is not None:
            self._tasks.append(asyncio.create_task(self._unreachable(self.plan.unreachable_at)))

    async def _killer(self) -> None:
        while True:
            await asyncio.sleep(self.plan.kill_interval * self.random.uniform(0.6, 1.4))
            # Only processes that are up and ready: killing one mid-restart would only test
            # the harness's patience (a start takes 10-30 s on a small machine).
            live = [
                n
                for n in self.killable
                if self.supervisor.processes[n].running and n not in self._restarting
            ]
            if not live:
                continue
            name = self.random.choice(live)
            self.supervisor.kill(name)
            self._restarting.add(name)
            self.log.kills.append({"at": round(time.monotonic() - self._started, 1), "name": name})
            self._note(f"SIGKILL {name}")
            task = asyncio.create_task(self._restart(name))
            self._restarts.add(task)
            task.add_done_callback(self._restarts.discard)

    async def _restart(self, name: str) -> None:
        await asyncio.sleep(self.random.uniform(0.2, 1.5))
        try:
            await self._start(name)
        finally:
            self._restarting.discard(name)

    async def _start(self, name: str, attempts: int = 3) -> None:
        # Like a Kubernetes restart policy: a process that dies while starting (e.g. the
        # broker connection was closed under it mid-declare) is started again; only one that
        # never comes back counts as a failure.
        for attempt in range(1, attempts + 1):
            try:
                await self.supervisor.start(name, timeout=90)
                self._note(f"{name} back" + (f" (start attempt {attempt})" if attempt > 1 else ""))
                return
            except Exception as exc:
                self._note(f"{name} did not start (attempt {attempt}): {exc}")
                if attempt == attempts:
                    self.log.restart_failures.append(f"{name}: {exc}")
                    return
                await asyncio.sleep(1.0)

    async def _broker_drop(self, at: float) -> None:
        await asyncio.sleep(at)
        await close_connections(self.infra, "chaos")
        self.log.broker_drops += 1
        self._note("closed every RabbitMQ connection of the vhost")

    async def _unreachable(self, at: float) -> None:
        await asyncio.sleep(at)
        await self._faults(self.av_url, self.plan.sandbox_faults(unreachable=True))
        self.log.unreachable_windows += 1
        self._note("AccountView unreachable")
        await asyncio.sleep(self.plan.unreachable_seconds)
        await self._faults(self.av_url, self.plan.sandbox_faults())
        self._note("AccountView reachable again")

    async def stop(self) -> None:
        """End the schedule, let pending restarts finish, turn the sandbox faults off."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._restarts:
            await asyncio.gather(*self._restarts, return_exceptions=True)
        await asyncio.gather(
            self._faults(self.ea_url, {}), self._faults(self.av_url, {}), return_exceptions=True
        )
        self._note("chaos stopped, sandbox faults off")
        # A process that was being restarted when we cancelled must still be up at the end.
        for name in self.killable:
            if not self.supervisor.processes[name].running:
                try:
                    await self.supervisor.start(name, timeout=90)
                except Exception as exc:
                    self.log.restart_failures.append(f"{name} (final): {exc}")
