"""A small process supervisor: every service and sandbox of a chaos run is its own OS process.

Each process is ``python -m koppel.cli.main ...`` (the same code as the ``koppel`` command)
on a fixed port chosen at start, with its output appended to ``<logs>/<name>.log`` so a
restart keeps the history of the killed incarnation. ``kill()`` is SIGKILL on purpose: no
shutdown hook runs, exactly like an OOM kill or a node loss.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    """A port nobody listens on right now (loopback only)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ManagedProcess:
    name: str  # unique, e.g. "orders-1"
    args: list[str]  # after ``python -m koppel.cli.main``
    port: int
    env: dict[str, str]
    log_path: Path
    health_path: str = "/readyz"
    module: str = "koppel.cli.main"
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: int = 0
    exits: list[int] = field(default_factory=list)  # unexpected exit codes seen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


class Supervisor:
    """Starts, kills, restarts and stops the run's processes."""

    def __init__(self, log_dir: Path, base_env: dict[str, str]) -> None:
        self.log_dir = log_dir
        self.base_env = base_env
        self.processes: dict[str, ManagedProcess] = {}

    def add(
        self,
        name: str,
        args: list[str],
        *,
        port: int | None = None,
        env: dict[str, str] | None = None,
        health_path: str = "/readyz",
        module: str = "koppel.cli.main",
    ) -> ManagedProcess:
        port = port or free_port()
        proc = ManagedProcess(
            name=name,
            args=[a.replace("{port}", str(port)) for a in args],
            port=port,
            env={**self.base_env, **(env or {})},
            log_path=self.log_dir / f"{name}.log",
            health_path=health_path,
            module=module,
        )
        self.processes[name] = proc
        return proc

    def spawn(self, proc: ManagedProcess) -> None:
        with proc.log_path.open("ab") as log:
            log.write(f"\n=== chaos: start #{proc.starts + 1} at {time.time():.3f}\n".encode())
            log.flush()
            proc.popen = subprocess.Popen(
                [sys.executable, "-m", proc.module, *proc.args],
                env=proc.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C of the harness does not hit them first
            )
        proc.starts += 1

    async def start(self, name: str, *, timeout: float = 90.0) -> ManagedProcess:
        proc = self.processes[name]
        self.spawn(proc)
        await self.wait_ready(proc, timeout=timeout)
        return proc

    async def start_all(self, names: list[str], *, timeout: float = 120.0) -> None:
        for name in names:
            self.spawn(self.processes[name])
        await asyncio.gather(*(self.wait_ready(self.processes[n], timeout=timeout) for n in names))

    async def wait_ready(self, proc: ManagedProcess, *, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2.0) as http:
            while time.monotonic() < deadline:
                if proc.popen is not None and proc.popen.poll() is not None:
                    raise RuntimeError(
                        f"{proc.name} exited with {proc.popen.returncode} while starting; "
                        f"see {proc.log_path}"
                    )
                try:
                    response = await http.get(proc.url + proc.health_path)
                    if response.status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise TimeoutError(f"{proc.name} not ready after {timeout:.0f}s; see {proc.log_path}")

    def kill(self, name: str) -> None:
        """SIGKILL, no goodbye. The process is reaped so it leaves no zombie."""
        proc = self.processes[name]
        if proc.popen is None or proc.popen.poll() is not None:
            return
        os.kill(proc.popen.pid, signal.SIGKILL)
        proc.popen.wait()
        proc.kills += 1

    async def restart(self, name: str, *, timeout: float = 90.0) -> None:
        self.kill(name)
        await self.start(name, timeout=timeout)

    def crashed(self) -> list[str]:
        """Processes that died without being killed by us (recorded once each)."""
        dead = []
        for proc in self.processes.values():
            if proc.popen is not None and proc.popen.poll() is not None:
                proc.exits.append(proc.popen.returncode)
                proc.popen = None
                dead.append(proc.name)
        return dead

    async def stop_all(self, *, grace: float = 10.0) -> None:
        """SIGTERM everyone, wait up to ``grace`` seconds, then SIGKILL the stragglers."""
        live = [p for p in self.processes.values() if p.running]
        for proc in live:
            assert proc.popen is not None
            proc.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in live:
            assert proc.popen is not None
            remaining = max(0.1, deadline - time.monotonic())
            with contextlib.suppress(subprocess.TimeoutExpired):
                await asyncio.to_thread(proc.popen.wait, remaining)
            if proc.popen.poll() is None:
                os.kill(proc.popen.pid, signal.SIGKILL)
                proc.popen.wait()
