"""A real Prometheus, run with the shipped scrape config, scrapes a real Koppel and answers a
query for a Koppel metric through its HTTP API.

The shipped ``deploy/prometheus/prometheus.yml`` is copied with only the targets (compose host
names) rewritten to the embedded ``koppel up`` on 127.0.0.1 and a short scrape interval; the
job name and metrics path are kept, so a scrape config that stops matching what the services
serve fails here. The Prometheus binary is Debian's ``prometheus`` package (``.ci/run``
installs it); this test fails, rather than skips, without it.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from koppel.cli.services import SERVICE_NAMES

from .processes import child_env, free_port, running, tail, wait_for_url

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"


def scrape_config_for(target: str) -> dict[str, Any]:
    """The shipped config, its targets pointed at ``target`` and scraped every second."""
    config: dict[str, Any] = yaml.safe_load(SHIPPED_CONFIG.read_text())
    config.setdefault("global", {})
    config["global"]["scrape_interval"] = "1s"
    config["global"]["scrape_timeout"] = "1s"
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "koppel")
    job["scrape_interval"] = "1s"
    job["static_configs"] = [{"targets": [target]}]
    return config


def test_the_shipped_config_scrapes_every_service_at_its_metrics_path() -> None:
    config = yaml.safe_load(SHIPPED_CONFIG.read_text())
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "koppel"]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    targets = [t for static in job["static_configs"] for t in static["targets"]]
    assert sorted(t.split(":")[0] for t in targets) == sorted(SERVICE_NAMES)


def query(base: str, promql: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{base}/api/v1/query", params={"query": promql}, timeout=5.0)
    response.raise_for_status()
    body = response.json()
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_prometheus_scrapes_koppel_metrics_through_the_shipped_config(tmp_path: Path) -> None:
    binary = shutil.which("prometheus")
    assert binary, "the prometheus binary is missing: apt-get install prometheus (see .ci/run)"
    koppel_port, prom_port = free_port(), free_port()
    koppel_log, prom_log = tmp_path / "koppel.log", tmp_path / "prometheus.log"
    config_file = tmp_path / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(scrape_config_for(f"127.0.0.1:{koppel_port}")))
    koppel_argv = [
        *(sys.executable, "-m", "koppel.cli.main", "up", "--no-sandboxes"),
        *("--host", "127.0.0.1", "--port", str(koppel_port)),
        *("--data-dir", str(tmp_path / "koppel")),
    ]
    prom_argv = [
        binary,
        f"--config.file={config_file}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{prom_port}",
        "--log.level=warn",
    ]
    env = child_env(KOPPEL_LOG_LEVEL="WARNING", KOPPEL_DATA_DIR=str(tmp_path / "koppel"))
    base = f"http://127.0.0.1:{prom_port}"
    with (
        running(koppel_argv, log=koppel_log, env=env) as koppel,
        running(prom_argv, log=prom_log) as prometheus,
    ):
        wait_for_url(f"{base}/-/ready", prometheus, log=prom_log, timeout=30)
        wait_for_url(f"http://127.0.0.1:{koppel_port}/healthz", koppel, log=koppel_log)
        deadline = time.monotonic() + 45
        series: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            series = query(base, 'koppel_outbox_pending{job="koppel"}')
            if {s["metric"]["service"] for s in series} >= set(SERVICE_NAMES):
                break
            time.sleep(0.5)
        services = {s["metric"]["service"] for s in series}
        assert services >= set(SERVICE_NAMES), (services, tail(prom_log), tail(koppel_log))
        assert {s["metric"]["instance"] for s in series} == {f"127.0.0.1:{koppel_port}"}
        up = query(base, 'up{job="koppel"}')
        assert [s["value"][1] for s in up] == ["1"]
