"""Processes the observability tests start (and always stop): free ports, waiting for a
URL to answer, and a bounded shutdown."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx

# Variables that would switch a child to PostgreSQL/RabbitMQ or an exporter we did not ask for.
_CHILD_UNSET = ("KOPPEL_DATABASE_URL", "KOPPEL_AMQP_URL", "KOPPEL_OTLP_ENDPOINT")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _CHILD_UNSET}
    env.update(extra)
    return env


@contextlib.contextmanager
def running(
    argv: Sequence[str], *, log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``argv`` with its output in ``log``; terminate (then kill) it on exit."""
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def wait_for_url(
    url: str, process: subprocess.Popen[bytes], *, log: Path, timeout: float = 90.0
) -> None:
    """Until ``url`` answers 200; fails at once if the process died, with its log."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise AssertionError(f"{process.args!r} exited ({process.returncode}):\n{tail(log)}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not answer within {timeout:.0f}s:\n{tail(log)}")
        time.sleep(0.25)


def tail(log: Path, lines: int = 40) -> str:
    if not log.exists():
        return "(no output)"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
