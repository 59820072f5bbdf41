"""``koppel up``'s demo: the embedded app and both sandboxes on free ports (uvicorn servers in
this event loop), the demo tenant set up through the public API, and orders reaching the
AccountView sandbox, visible in the activity log."""

from __future__ import annotations

import asyncio
import socket
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from koppel.cli.demo import DEMO_FILE, ensure_demo_tenant
from koppel.cli.embedded import build_embedded_app

pytestmark = pytest.mark.timeout(120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Platform:
    gateway: str
    eaccounting: str
    accountview: str
    data_dir: Path


@pytest.fixture
async def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Platform]:
    from koppel.sandbox.accountview.app import create_app as accountview_app
    from koppel.sandbox.eaccounting.app import create_app as eaccounting_app

    ports = [free_port() for _ in range(3)]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    # build_embedded_app fills these with setdefault: pin them so nothing leaks to other tests.
    monkeypatch.setenv("KOPPEL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KOPPEL_GATEWAY_URL", urls[0])
    monkeypatch.setenv("KOPPEL_PUBLIC_URL", urls[0])
    monkeypatch.setenv("KOPPEL_LOG_JSON", "false")
    monkeypatch.setenv("KOPPEL_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("KOPPEL_ADMIN_API_KEY", "placeholder")
    monkeypatch.delenv("KOPPEL_ADMIN_API_KEY")  # the runner generates and exports one
    apps = [build_embedded_app(tmp_path, urls[0]), eaccounting_app(), accountview_app()]
    servers = [
        uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")  # type: ignore[arg-type]
        )
        for app, port in zip(apps, ports, strict=True)
    ]
    for server in servers:
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    tasks = [asyncio.create_task(s.serve()) for s in servers]
    try:
        async with asyncio.timeout(30):
            while not all(s.started for s in servers):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        yield Platform(*urls, data_dir=tmp_path)
    finally:
        for server in servers:
            server.should_exit = True
        await asyncio.wait(tasks, timeout=20)


async def orders_in_accountview(http: httpx.AsyncClient, url: str) -> list[dict[str, Any]]:
    state = (await http.get(f"{url}/_sandbox/state", params={"table": "SO_HDR"})).json()
    return [row for c in state["companies"] for row in c["tables"].get("SO_HDR", [])]


async def test_koppel_up_demo_syncs_orders(
    platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    p = platform
    async with httpx.AsyncClient(timeout=30) as http:
        before = len(await orders_in_accountview(http, p.accountview))

        # When the demo is set up (first start)
        await ensure_demo_tenant(
            gateway_url=p.gateway,
            data_dir=p.data_dir,
            eaccounting_url=p.eaccounting,
            accountview_url=p.accountview,
        )

        # Then both keys are printed once, and remembered privately
        first = capsys.readouterr().out
        assert "admin API key:           kpla_" in first
        assert "demo tenant API key:     kpl_" in first
        demo_file = p.data_dir / DEMO_FILE
        assert stat.S_IMODE(demo_file.stat().st_mode) == 0o600
        import json

        remembered = json.loads(demo_file.read_text())
        assert remembered["complete"] is True
        key = {"Authorization": f"Bearer {remembered['api_key']}"}

        # And a second start changes nothing and prints no key
        await ensure_demo_tenant(
            gateway_url=p.gateway,
            data_dir=p.data_dir,
            eaccounting_url=p.eaccounting,
            accountview_url=p.accountview,
        )
        second = capsys.readouterr().out
        assert "kpl" not in second and "set up already" in second
        admin = {"Authorization": f"Bearer {(p.data_dir / 'admin-api-key').read_text()}"}
        tenants = (await http.get(f"{p.gateway}/v1/tenants", headers=admin)).json()["items"]
        assert [t["name"] for t in tenants] == ["Demo B.V."]

        # And the flows are on, the value maps filled, the connections working
        flows = (await http.get(f"{p.gateway}/v1/flows", headers=key)).json()
        assert all(f["enabled"] and f["schedule"]["interval_seconds"] == 60 for f in flows)
        vat = (await http.get(f"{p.gateway}/v1/value-maps/vat_codes", headers=key)).json()
        assert vat["entries"]["NL:21"] == "21"
        for system in ("eaccounting", "accountview"):
            test = await http.post(f"{p.gateway}/v1/connections/{system}/test", headers=key)
            assert test.json()["ok"], test.text

        # And within bounded time orders reach AccountView and the activity log says synced
        synced: list[dict[str, Any]] = []
        async with asyncio.timeout(60):
            while True:
                after = await orders_in_accountview(http, p.accountview)
                page = await http.get(
                    f"{p.gateway}/v1/activity",
                    params={"flow": "orders", "status": "synced", "limit": 500},
                    headers=key,
                )
                assert page.status_code == 200, page.text
                synced = page.json()["items"]
                if len(after) > before and synced:
                    break
                await asyncio.sleep(0.5)
        assert len(after) > before
        assert all(entry["flow"] == "orders" for entry in synced)
