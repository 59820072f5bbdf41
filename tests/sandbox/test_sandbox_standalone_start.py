"""``koppel sandbox eaccounting|accountview`` as real processes: they come up, serve the seeded
demo data (``--empty``: none) and stop cleanly on SIGTERM. How fast is what
``koppel bench sandbox`` prints; this only checks that the start works."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from koppel.sandbox.coldstart import _request, free_port, koppel_command, wait_for_seeded_data


@contextmanager
def sandbox_process(name: str, *extra: str) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    command = [*koppel_command(), "sandbox", name, "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        [*command, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=dict(os.environ),
    )
    try:
        yield port, process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def stop(process: subprocess.Popen[bytes]) -> str:
    """SIGTERM; uvicorn shuts down gracefully and then re-raises the signal (exit -15)."""
    process.terminate()
    output, _ = process.communicate(timeout=15)
    text = output.decode(errors="replace")
    assert process.returncode in (0, -signal.SIGTERM), text
    assert "Finished server process" in text, text
    return text


def wait_answering(port: int, process: subprocess.Popen[bytes], limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert process.poll() is None, "the sandbox exited"
        try:
            if _request(port, "POST", "/_sandbox/tokens", body={})[0] == 200:
                return
        except (OSError, http.client.HTTPException):
            time.sleep(0.05)
    raise AssertionError(f"nothing answered on port {port} within {limit} s")


def token_headers(port: int) -> dict[str, str]:
    status, token = _request(port, "POST", "/_sandbox/tokens", body={})
    assert status == 200, token
    return {"Authorization": f"Bearer {token['access_token']}"}


def eaccounting_articles(port: int) -> dict[str, Any]:
    status, page = _request(port, "GET", "/v2/articles?$pagesize=5", token_headers(port))
    assert status == 200, page
    assert isinstance(page, dict)
    return page


def accountview_debtors(port: int) -> list[dict[str, Any]]:
    headers = token_headers(port)
    status, companies = _request(port, "GET", "/api/v3/companies", headers)
    assert status == 200, companies
    headers["x-company"] = companies[0]["Id"]
    status, page = _request(
        port, "GET", "/api/v3/accountviewdata?BusinessObject=AR1&PageSize=5", headers
    )
    assert status == 200, page
    rows: list[dict[str, Any]] = page["CONTACT"]
    return rows


@pytest.mark.timeout(90)
def test_eaccounting_command_serves_seeded_articles() -> None:
    with sandbox_process("eaccounting", "--seed", "42") as (port, process):
        wait_for_seeded_data("eaccounting", port, process, limit=60)
        page = eaccounting_articles(port)
        assert [a["Number"] for a in page["Data"]] == [f"ART-{n:04d}" for n in range(1, 6)]
        assert page["Meta"]["TotalNumberOfResults"] > 100
        output = stop(process)
    assert "Uvicorn running on" in output


@pytest.mark.timeout(90)
def test_accountview_command_serves_seeded_debtors() -> None:
    with sandbox_process("accountview", "--seed", "42") as (port, process):
        wait_for_seeded_data("accountview", port, process, limit=60)
        debtors = accountview_debtors(port)
        assert len(debtors) == 5
        assert all(d["SUB_NR"] and d["MAIL_BUS"] for d in debtors)
        stop(process)


@pytest.mark.timeout(90)
def test_same_seed_same_data_and_empty_has_none() -> None:
    with (
        sandbox_process("eaccounting", "--seed", "7") as (first, first_process),
        sandbox_process("eaccounting", "--seed", "7") as (second, second_process),
        sandbox_process("eaccounting", "--empty") as (empty, empty_process),
    ):
        wait_for_seeded_data("eaccounting", first, first_process, limit=60)
        wait_for_seeded_data("eaccounting", second, second_process, limit=60)
        ids = [a["Id"] for a in eaccounting_articles(first)["Data"]]
        assert ids == [a["Id"] for a in eaccounting_articles(second)["Data"]]
        wait_answering(empty, empty_process)
        assert eaccounting_articles(empty)["Data"] == []  # --empty: lookups only


# What `koppel sandbox ...` runs, up to the point where uvicorn would start serving; then the
# modules it loaded. Each of these made a cold start slower for nothing (httpx alone pulls in
# click, rich and pygments for its own command line).
_IMPORTS_PROBE = """
import json, sys
import uvicorn
served = []
uvicorn.run = lambda app, **kw: served.append((type(app).__name__, kw))
from koppel.cli.main import app
app(["sandbox", sys.argv[1], "--port", "0", "--seed", "3"], standalone_mode=False)
heavy = ("httpx", "rich", "pygments", "sqlalchemy", "aio_pika", "aiormq", "jsonschema",
         "yaml", "opentelemetry.sdk", "koppel.common", "koppel.connectors", "koppel.gateway")
loaded = sorted({m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy)})
print(json.dumps({"served": served, "loaded": loaded}))
"""


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", ["eaccounting", "accountview"])
def test_sandbox_command_loads_no_heavy_modules(name: str) -> None:
    import json
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _IMPORTS_PROBE, name],
        capture_output=True,
        text=True,
        timeout=50,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert [app for app, _ in result["served"]] == ["FastAPI"]
    assert result["served"][0][1]["ws"] == "none"
    assert result["loaded"] == []
