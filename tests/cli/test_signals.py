"""``koppel up`` (with its sandboxes) stops cleanly on SIGTERM and on SIGINT.

Regression: with the sandboxes beside it, ``koppel up`` ignored SIGTERM (each uvicorn server
captured the signals for itself, only the last one heard them, and the re-raised SIGTERM
killed the process instead of letting it exit). Each case starts the real command in a child
process on free ports and a fresh data directory.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.timeout(120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def koppel() -> list[str]:
    script = Path(sys.executable).with_name("koppel")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "koppel.cli.main"]


def wait_up(proc: subprocess.Popen[bytes], urls: list[str], limit: float = 60.0) -> None:
    """Until every server answers (a bound, not an assertion on speed)."""
    deadline = time.monotonic() + limit
    pending = list(urls)
    while pending:
        assert proc.poll() is None, "koppel up exited before it was up"
        assert time.monotonic() < deadline, f"not up: {pending}"
        try:
            httpx.get(pending[0], timeout=1.0)
            pending.pop(0)
        except httpx.HTTPError:
            time.sleep(0.2)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_koppel_up_exits_cleanly_on_signal(tmp_path: Path, sig: signal.Signals) -> None:
    port, ea_port, av_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOPPEL_")}
    env.update(
        KOPPEL_LOG_JSON="false",
        KOPPEL_LOG_LEVEL="WARNING",
        KOPPEL_PUBLIC_URL=f"http://127.0.0.1:{port}",
    )
    proc = subprocess.Popen(
        [
            *koppel(),
            "up",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "data"),
            "--eaccounting-port",
            str(ea_port),
            "--accountview-port",
            str(av_port),
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_up(
            proc,
            [
                f"http://127.0.0.1:{port}/healthz",
                f"http://127.0.0.1:{ea_port}/",
                f"http://127.0.0.1:{av_port}/",
            ],
        )
        proc.send_signal(sig)
        try:
            output, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail(f"koppel up still running 20 s after {sig.name}")
        assert proc.returncode == 0, output.decode(errors="replace")[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
