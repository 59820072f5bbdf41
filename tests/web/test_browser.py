"""The newcomer's walk through the pages in a real headless Chromium (Playwright).

Started: both sandboxes (``ServerThread``) and the embedded app (all six services,
``build_embedded_app``) on free ports. The newcomer signs in, completes the wizard (both
connections with the OAuth round trip, tests, flows and questions, value maps, a dry run,
switch on), sees orders arrive in the activity log, opens a failed record, fixes the value
map it names, replays it and looks at the result.

The scenario is fixed by the seed (eAccounting seed 7, 12 orders): Sweden is left out of
``vat_codes`` in the wizard, so exactly order 1 (the one Swedish customer) fails with
``unmapped_value`` and the other eleven sync; the fix link fills in ``SE``, the replay
re-fetches order 1 (``record_id``) and its new journey must end synced, with one SO_HDR row
for it in the AccountView sandbox. Screenshots go to ``screenshots/web/``.

Needs /usr/bin/chromium (``.ci/run`` installs Debian's package when it is missing).
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from koppel.sandbox.common.server import ServerThread

SHOTS = Path(__file__).resolve().parents[2] / "screenshots" / "web"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
ADMIN_KEY = "kpla_browser-test-admin-key-0123456789abcdef01"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class World:
    def __init__(self, gateway: str, eaccounting: str, accountview: str, key: str) -> None:
        self.gateway, self.eaccounting, self.accountview, self.key = (
            gateway, eaccounting, accountview, key)  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from koppel.cli.embedded import build_embedded_app
    from koppel.sandbox.accountview import AccountViewSandboxSettings, SeedSpec
    from koppel.sandbox.accountview import create_app as create_av_app
    from koppel.sandbox.eaccounting import EAccountingSandboxSettings, SeedSizes
    from koppel.sandbox.eaccounting import create_app as create_ea_app

    data = tmp_path_factory.mktemp("koppel-web")
    port = _free_port()
    gateway = f"http://127.0.0.1:{port}"
    env = pytest.MonkeyPatch()
    for name, value in {
        "KOPPEL_ADMIN_API_KEY": ADMIN_KEY,
        "KOPPEL_PUBLIC_URL": gateway,
        "KOPPEL_GATEWAY_URL": gateway,
        "KOPPEL_DATA_DIR": str(data),
        "KOPPEL_DATABASE_URL": f"sqlite+aiosqlite:///{data}/{{service}}.db",
        "KOPPEL_SCHEMA_MODE": "create",
        "KOPPEL_ENVIRONMENT": "test",
        "KOPPEL_LOG_LEVEL": "WARNING",
    }.items():
        env.setenv(name, value)
    ea = ServerThread(create_ea_app(EAccountingSandboxSettings(
        seed=7, sizes=SeedSizes(customers=12, articles=15, unknown_articles=0, orders=12))))  # fmt: skip
    av = ServerThread(create_av_app(AccountViewSandboxSettings(
        seed=SeedSpec(seed=7, articles=15, debtors=5, orders=0, invoices=0))))  # fmt: skip
    app = build_embedded_app(data, gateway)
    server = ServerThread(app, port=port)  # type: ignore[arg-type]
    ea.start()
    av.start()
    server.start(timeout=60)
    try:
        created = httpx.post(
            f"{gateway}/v1/tenants",
            json={"name": "Webwinkel Tulp"},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            timeout=30,
        )
        assert created.status_code == 201, created.text
        yield World(gateway, ea.base_url, av.base_url, created.json()["api_key"])
    finally:
        server.stop()
        ea.stop()
        av.stop()
        env.undo()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


SEEDED_ORDERS = 12  # SeedSizes(orders=12) above


def _wait_for(read: Any, done: Any, seconds: float) -> Any:
    """Poll ``read()`` until ``done(value)`` or the deadline; returns the last value."""
    deadline = time.monotonic() + seconds
    value = read()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.5)
        value = read()
    return value


def _final_orders(world: World) -> dict[str, dict[str, Any]]:
    """Order number -> its newest final activity entry (synced / failed / ...), via /v1."""
    answer = httpx.get(
        f"{world.gateway}/v1/activity",
        params={"flow": "orders", "limit": 200},
        headers={"Authorization": f"Bearer {world.key}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    out: dict[str, dict[str, Any]] = {}
    for entry in answer.json()["items"]:  # newest first
        key = entry.get("entity_key")
        if entry["event_type"].startswith("event.order_") and key and key not in out:
            if entry["status"] in ("synced", "failed", "skipped", "dead_lettered"):
                out[key] = entry
    return out


def _order_number(row: dict[str, Any]) -> str:
    return str(row.get("COMMENT1") or "").strip()


def test_newcomer_walkthrough(world: World, browser: Browser) -> None:
    context = browser.new_context(locale="nl-NL", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    base = world.gateway

    # 1. Sign in.
    page.goto(f"{base}/app")
    expect(page.get_by_role("heading", name="Aanmelden")).to_be_visible()
    shot(page, "01-login")
    page.get_by_label("API-sleutel").fill(world.key)
    page.get_by_role("button", name="Aanmelden").click()
    expect(page.get_by_role("heading", name="Overzicht")).to_be_visible()
    shot(page, "02-dashboard-empty")

    # 2. Wizard: connections, production defaults prefilled, then pointed at the sandboxes.
    page.goto(f"{base}/app/setup/connections")
    expect(page.locator("#eaccounting-api_base_url")).to_have_value(
        "https://eaccountingapi.vismaonline.com/v2"
    )
    shot(page, "03-wizard-connections-defaults")
    for system, api_url, auth_url in (
        ("eaccounting", f"{world.eaccounting}/v2", world.eaccounting),
        ("accountview", f"{world.accountview}/api/v3", f"{world.accountview}/ams/authorize.aspx"),
    ):
        page.locator(f"#{system}-api_base_url").fill(api_url)
        page.locator(f"#{system}-auth_base_url").fill(auth_url)
        page.locator(f"#{system}-client_id").fill("koppel-demo")
        page.locator(f"#{system}-client_secret").fill("koppel-demo-secret")
        if system == "accountview":
            page.locator("#accountview-company").fill("KOPPELDEMO")
        page.locator(f"#save-{system}").click()
        # OAuth: the gateway's authorize URL → the sandbox → /app/oauth/callback → wizard.
        page.locator(f"#authorize-{system}").click()
        expect(page.get_by_text("Toestemming ontvangen.")).to_be_visible()
        page.locator(f"#test-{system}").click()
        expect(page.locator(f"#test-result-{system}")).to_contain_text("De verbinding werkt.")
    shot(page, "04-wizard-connections-tested")

    # 3. Flows and their questions, in plain words: every order status, as sales orders.
    page.goto(f"{base}/app/setup/flows")
    page.locator("#use-orders").check()
    for status in ("draft", "ongoing", "shipped", "invoiced"):
        page.locator(f"#orders-statuses-{status}").check()
    page.locator("#orders-target-sales_order").check()
    page.locator("#orders-minutes").fill("60")
    page.locator("#use-customers").check()
    shot(page, "05-wizard-flows")
    page.locator("#save-flows").click()
    expect(page).to_have_url(re.compile(r"/app/setup/value-maps"))

    # 4. Value maps: VAT per country, Sweden deliberately left out (the seeded order 1 is
    # the only one with a Swedish customer: it must fail with unmapped_value, the rest sync).
    page.locator("#map-vat_codes").click()
    rows = [("NL", "21"), ("BE", "EU"), ("DE", "EU"), ("NO", "EX")]
    for i, (key, value) in enumerate(rows, start=1):
        page.locator(f"#key_{i}").fill(key)
        page.locator(f"#value_{i}").fill(value)
        if i == 3:
            page.locator("#save-value-map").click()
            expect(page.get_by_role("heading", name=re.compile("vat_codes"))).to_be_visible()
            page.locator("#map-vat_codes").click()
    page.locator("#save-value-map").click()
    expect(page).to_have_url(re.compile(r"/app/setup/value-maps\?saved=vat_codes"))
    shot(page, "06-wizard-value-maps")

    # 4b. The debtors' collective account: the sandbox's ledger has 1300 (not the default).
    for flow in ("customers", "orders"):
        page.goto(f"{base}/app/mappings/{flow}")
        page.locator("details summary").first.click()
        settings = json.loads(page.locator("#settings").input_value() or "{}")
        settings["collective_account"] = "1300"
        page.locator("#settings").fill(json.dumps(settings))
        page.locator("#save-mapping").click()
        expect(page).to_have_url(re.compile(rf"/app/mappings/{flow}\?saved=1"))
    shot(page, "06b-mapping-collective-account")

    # 5. Dry run, then switch on.
    page.goto(f"{base}/app/setup/dry-run")
    page.locator("#dry-orders").click()
    expect(page.locator("#run-counts")).to_be_visible()
    deadline = time.monotonic() + 30
    while "bezig" in page.locator("#h-run").inner_text() and time.monotonic() < deadline:
        page.wait_for_timeout(500)
        page.reload()
    shot(page, "07-wizard-dry-run")
    page.goto(f"{base}/app/setup/live")
    page.locator("#on-orders").check()
    page.locator("#on-customers").check()
    page.locator("#switch-on").click()
    expect(page.locator("#live-done")).to_be_visible()
    shot(page, "08-wizard-live")

    # 6. Run now; the orders arrive in the activity log: all twelve end synced or failed.
    page.goto(f"{base}/app")
    page.locator("#run-orders").click()
    expect(page.get_by_text("De run is gestart.")).to_be_visible()
    finals = _wait_for(lambda: _final_orders(world), lambda f: len(f) >= SEEDED_ORDERS, 60)
    assert len(finals) == SEEDED_ORDERS, finals
    failed = {k: e for k, e in finals.items() if e["status"] == "failed"}
    assert {k: e["reason_code"] for k, e in failed.items()} == {"1": "unmapped_value"}, failed
    page.goto(f"{base}/app/activity?flow=orders")
    expect(page.locator("table.activity tbody tr").first).to_be_visible()
    shot(page, "09-activity")
    page.goto(f"{base}/app")
    shot(page, "10-dashboard")

    # 7. The failed record: open it, follow its fix link (map and key filled in), replay it.
    page.goto(f"{base}/app/activity?flow=orders&status=failed&entity=1")
    shot(page, "11a-activity-failed")
    page.locator("table.activity tbody tr").first.locator("a").first.click()
    expect(page.locator("#h-failed")).to_contain_text("unmapped_value")
    expect(page.locator(".reason")).to_contain_text("vat_codes")
    journey_url = page.url
    shot(page, "11-journey-failed")
    page.locator("#fix-map").click()
    expect(page).to_have_url(re.compile(r"/app/value-maps/vat_codes\?key=SE"))
    row = page.locator("#missing-row")
    expect(row.locator("input[id^=key_]")).to_have_value("SE")
    row.locator("input[id^=value_]").fill("EU")
    shot(page, "12-value-map-fix")
    page.locator("#save-value-map").click()
    expect(page).to_have_url(re.compile(re.escape(journey_url) + r"\?saved=vat_codes"))
    page.locator("#replay").click()
    expect(page.get_by_text("De run is gestart.")).to_be_visible()
    shot(page, "13-journey-replayed")
    # The replay fetched order 1 again under a new journey; the failed one points to it.
    synced = _wait_for(
        lambda: _final_orders(world), lambda f: f.get("1", {}).get("status") == "synced", 60
    )
    assert synced["1"]["status"] == "synced", synced["1"]
    page.goto(journey_url)
    expect(page.locator("#later-journey")).to_contain_text("gesynchroniseerd")
    shot(page, "13b-journey-points-to-replay")
    page.locator("#later-journey a").click()
    expect(page).to_have_url(re.compile(synced["1"]["correlation_id"]))
    expect(page.locator("ol.steps li").last).to_contain_text("event.order_synced.v1")
    expect(page.locator("#h-failed")).to_have_count(0)
    shot(page, "14-journey-synced")
    # AccountView holds order 1 exactly once (the failed attempt never reached it).
    state = httpx.get(f"{world.accountview}/_sandbox/state", params={"table": "SO_HDR"})
    rows_av = state.json()["companies"][0]["tables"]["SO_HDR"]
    assert len([r for r in rows_av if _order_number(r) == "1"]) == 1, rows_av

    # 8. Mapping editor with a preview of a real record.
    page.goto(f"{base}/app/mappings/orders")
    page.locator("#target_1").fill("SO_HDR.COMMENT2")
    page.locator("#expr_1").fill("uper(source.Number)")
    page.locator("#save-mapping").click()
    expect(page.locator("#err_1")).to_contain_text("upper")
    shot(page, "15-mapping-error")
    page.locator("#expr_1").fill("concat('Webshop ', source.Number)")
    page.locator("#preview-mapping").click()
    expect(page.locator("#preview")).to_be_visible()
    shot(page, "16-mapping-preview")

    # 9. A phone and English.
    phone = browser.new_context(
        locale="en-GB", viewport={"width": 390, "height": 844}, is_mobile=True
    )
    mobile = phone.new_page()
    mobile.goto(f"{base}/app/login")
    expect(mobile.get_by_role("heading", name="Sign in")).to_be_visible()
    mobile.get_by_label("API key").fill(world.key)
    mobile.get_by_role("button", name="Sign in").click()
    expect(mobile.get_by_role("heading", name="Dashboard")).to_be_visible()
    shot(mobile, "17-phone-dashboard-en")
    phone.close()
    context.close()
