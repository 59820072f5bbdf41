"""Cold start of the standalone sandboxes: process exec until seeded data is served.

``koppel bench sandbox`` (or ``python -m koppel.sandbox.coldstart``) starts
``koppel sandbox <name> --host 127.0.0.1 --port <free> --seed 42`` a few times and, for each
start, polls until the process answers a real API read with seeded records: a token from
``POST /_sandbox/tokens``, then the first page of ``/v2/articles`` (eAccounting) or of the
debtors ``AR1`` (AccountView). It prints one JSON object per sandbox and bytecode mode.

Bytecode modes: ``as-is`` runs with the caller's environment (with ``PYTHONDONTWRITEBYTECODE``
set and no ``.pyc`` files every start compiles each module from source: the slow case).
``cached`` points ``PYTHONPYCACHEPREFIX`` at a temporary directory, lets one uncounted start
write the bytecode there, then measures (what a Docker image built with
``UV_COMPILE_BYTECODE=1``, or any venv after its first run, sees). The venv is never written.

``--burn N`` keeps N processes spinning on the CPU during the measured starts (a repeatable
"machine under load"). Only the standard library is used here, so the probe itself loads
nothing heavy.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SANDBOXES = ("eaccounting", "accountview")
MODES = ("as-is", "cached")


def koppel_command() -> list[str]:
    """The ``koppel`` console script of this interpreter's environment (or ``-m`` as fallback)."""
    script = Path(sys.executable).with_name("koppel")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "koppel.cli.main"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _request(
    port: int, method: str, path: str, headers: dict[str, str] | None = None, body: Any = None
) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        sent = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=sent)
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    finally:
        conn.close()


def seeded_records(sandbox: str, port: int) -> int:
    """How many seeded records the first API page holds (raises while the server is not up)."""
    status, token = _request(port, "POST", "/_sandbox/tokens", body={})
    if status != 200:
        return 0
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    if sandbox == "eaccounting":
        status, page = _request(port, "GET", "/v2/articles?$pagesize=10", headers)
        return len(page["Data"]) if status == 200 else 0
    status, companies = _request(port, "GET", "/api/v3/companies", headers)
    if status != 200 or not companies:
        return 0
    headers["x-company"] = companies[0]["Id"]
    status, page = _request(
        port, "GET", "/api/v3/accountviewdata?BusinessObject=AR1&PageSize=10", headers
    )
    return len(page["CONTACT"]) if status == 200 else 0


def wait_for_seeded_data(
    sandbox: str, port: int, process: subprocess.Popen[bytes], limit: float
) -> float:
    """Seconds from now until ``seeded_records`` is positive; raises past ``limit``."""
    started = time.perf_counter()
    while True:
        try:
            if seeded_records(sandbox, port) > 0:
                return time.perf_counter() - started
        except (OSError, http.client.HTTPException, ValueError, KeyError):
            pass  # not listening yet, or answered before the seed was in (never expected)
        if process.poll() is not None:
            raise RuntimeError(f"koppel sandbox {sandbox} exited with {process.returncode}")
        if time.perf_counter() - started > limit:
            raise TimeoutError(f"koppel sandbox {sandbox} served no seeded data in {limit} s")
        time.sleep(0.005)


def cold_start(sandbox: str, env: dict[str, str], *, limit: float = 60.0) -> float:
    """One start: seconds from exec to the first answer holding seeded data."""
    port = free_port()
    command = [*koppel_command(), "sandbox", sandbox, "--host", "127.0.0.1", "--port", str(port)]
    started = time.perf_counter()
    process = subprocess.Popen(
        [*command, "--seed", "42"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_seeded_data(sandbox, port, process, limit)
        return time.perf_counter() - started
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


@contextmanager
def cpu_burners(count: int) -> Iterator[None]:
    """``count`` processes spinning on the CPU meanwhile: a load that is the same every time
    (the load average of a shared machine says little about the next second)."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def measure(sandbox: str, *, runs: int = 5, mode: str = "as-is", burn: int = 0) -> dict[str, Any]:
    env = dict(os.environ)
    cache_dir: str | None = None
    if mode == "cached":
        cache_dir = tempfile.mkdtemp(prefix="koppel-pyc-")
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = cache_dir
    try:
        load_before = _loadavg()
        if mode == "cached":
            cold_start(sandbox, env)  # writes the bytecode; not counted
        with cpu_burners(burn):
            samples = [cold_start(sandbox, env) for _ in range(runs)]
    finally:
        if cache_dir is not None:
            shutil.rmtree(cache_dir, ignore_errors=True)
    return {
        "benchmark": "sandbox_cold_start",
        "sandbox": sandbox,
        "bytecode": mode,
        "runs": runs,
        "cpu_burners": burn,
        "median_s": round(statistics.median(samples), 3),
        "max_s": round(max(samples), 3),
        "min_s": round(min(samples), 3),
        "samples_s": [round(s, 3) for s in samples],
        "loadavg_before": load_before,
        "loadavg_after": _loadavg(),
        "cpus": os.cpu_count(),
        "command": f"koppel sandbox {sandbox} --host 127.0.0.1 --port <free> --seed 42",
    }


def run(
    sandboxes: Sequence[str] = SANDBOXES,
    *,
    runs: int = 5,
    modes: Sequence[str] = MODES,
    burn: int = 0,
) -> Iterator[dict[str, Any]]:
    for mode in modes:
        for name in sandboxes:
            yield measure(name, runs=runs, mode=mode, burn=burn)


def main(argv: Sequence[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sandbox", choices=SANDBOXES, action="append")
    parser.add_argument("--bytecode", choices=MODES, action="append")
    parser.add_argument("--burn", type=int, default=0, help="CPU-spinning processes meanwhile")
    args = parser.parse_args(argv)
    sandboxes = args.sandbox or SANDBOXES
    for result in run(sandboxes, runs=args.runs, modes=args.bytecode or MODES, burn=args.burn):
        print(json.dumps(result), flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
