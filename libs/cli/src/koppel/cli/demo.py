"""The demo tenant ``koppel up`` (and ``koppel demo``) wires to the bundled sandboxes.

Everything goes through the public API, as a partner would: an admin key creates the tenant
"Demo B.V.", its key connects both sandboxes (refresh tokens minted by each sandbox's
``POST /_sandbox/tokens``), fills the mapper's value maps with the sandboxes' codes, enables
the four flows on a 60-second schedule and starts one run of each.

Idempotent: what was created is remembered in ``<data_dir>/demo.json`` (mode 0600: it holds
the tenant's key), so a restart neither creates a second tenant nor prints the keys again.
The values come from the sandboxes' seeds (``koppel.sandbox.*.seed``): AccountView VAT codes
21/09/00/EU/EX, payment conditions 14/30/00/8K, service article VERZEND, EAN in BAR_CODE.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import httpx

DEMO_FILE = "demo.json"
ADMIN_KEY_FILE = "admin-api-key"
TENANT_NAME = "Demo B.V."
CLIENT_ID, CLIENT_SECRET = "koppel-demo", "koppel-demo-secret"
FLOWS = ("customers", "products", "stock", "orders")
SCHEDULE_SECONDS = 60
JSON = dict[str, Any]

# eAccounting sandbox countries (seed COUNTRY_WEIGHTS) → AccountView VAT code and revenue account.
EU_COUNTRIES, EXPORT_COUNTRIES = ("BE", "DE", "SE"), ("NO",)
RATES = ("21", "9", "0", "25", "12", "19", "7", "6", "15")


class DemoError(RuntimeError):
    pass


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def admin_api_key(data_dir: Path) -> str:
    """``KOPPEL_ADMIN_API_KEY``, else the key kept in the data dir (made on first start; the
    embedded runner puts it into the environment before the gateway reads its settings)."""
    from_env = os.environ.get("KOPPEL_ADMIN_API_KEY")
    if from_env:
        return from_env
    path = data_dir / ADMIN_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    from koppel.gateway.domain import generate_admin_api_key

    key = generate_admin_api_key()
    _write_private(path, key)
    return key


def _generated_here(data_dir: Path, key: str) -> bool:
    """The key is ours (in the data dir), not the operator's: safe and useful to show once."""
    path = data_dir / ADMIN_KEY_FILE
    return path.exists() and path.read_text().strip() == key


def _load(data_dir: Path) -> JSON:
    path = data_dir / DEMO_FILE
    if not path.exists():
        return {}
    loaded = json.loads(path.read_text())
    return loaded if isinstance(loaded, dict) else {}


def _save(data_dir: Path, state: JSON) -> None:
    _write_private(data_dir / DEMO_FILE, json.dumps(state, indent=2))


async def _call(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    ok: tuple[int, ...] = (200, 201, 202),
    deadline: float = 60.0,
    **kwargs: Any,
) -> httpx.Response:
    """One call that waits out a gateway or sandbox still starting (connection errors, 5xx)."""
    give_up = time.monotonic() + deadline
    while True:
        try:
            response = await http.request(method, url, **kwargs)
            if response.status_code in ok:
                return response
            if response.status_code < 500:
                raise DemoError(f"{method} {url} -> {response.status_code} {response.text[:300]}")
            last = f"{response.status_code} {response.text[:300]}"
        except httpx.TransportError as exc:
            last = f"{type(exc).__name__}: {exc}"
        if time.monotonic() > give_up:
            raise DemoError(f"{method} {url} kept failing: {last}")
        await asyncio.sleep(0.5)


def _items(body: Any) -> list[JSON]:
    """eAccounting lists come as ``{"Meta": ..., "Data": [...]}`` or as a plain array."""
    rows = body.get("Data", []) if isinstance(body, dict) else body
    return [r for r in rows if isinstance(r, dict)]


def value_maps(ea_lookups: dict[str, list[JSON]]) -> dict[str, JSON]:
    vat: dict[str, str] = {"NL": "21", "NL:21": "21", "NL:9": "09", "NL:0": "00"}
    for countries, code in ((EU_COUNTRIES, "EU"), (EXPORT_COUNTRIES, "EX")):
        for country in countries:
            vat[country] = code
            vat.update({f"{country}:{rate}": code for rate in RATES})
    by_days = {14: "14", 30: "30", 0: "00"}
    terms = {
        str(t["Id"]): by_days.get(int(t.get("NumberOfDays") or 30), "30")
        for t in ea_lookups["termsofpayments"]
    }
    codings = {
        str(round(float(c["VatRatePercent"]) * 100)): str(c["Id"])
        for c in ea_lookups["articleaccountcodings"]
        if c.get("Type") == "Goods" and c.get("VatRatePercent") is not None
    }
    units = {str(u["Code"]): str(u["Id"]) for u in ea_lookups["units"] if u.get("Code")}
    maps: dict[str, JSON] = {
        "vat_codes": {"entries": vat},
        "terms_of_payment": {"entries": terms, "default": "30"},
        "shipping_article": {"entries": {}, "default": "VERZEND"},
        "revenue_accounts": {
            "entries": {"NL": "8000", **dict.fromkeys(EU_COUNTRIES, "8010"), "NO": "8020"}
        },
    }
    if "21" in codings and "9" in codings:
        maps["article_codings"] = {"entries": {"21": codings["21"], "09": codings["9"]}}
    if units:
        default_unit = units.get("st") or next(iter(units.values()))
        maps["units"] = {"entries": units, "default": default_unit}
    return maps


MAPPINGS: dict[str, JSON] = {
    "orders": {
        "settings": {
            "shipping_article_numbers": ["SHIPPING"],
            "sales_journal_code": "VK",
            "collective_account": "1300",
        },
        "fields": {},
    },
    "customers": {"settings": {"collective_account": "1300"}, "fields": {}},
    # The AccountView sandbox keeps the EAN in BAR_CODE (a real administration: EAN_CODE).
    "products": {
        "settings": {"ean_field": "BAR_CODE", "long_description_field": None},
        "fields": {},
    },
}
FLOW_SETTINGS: dict[str, JSON] = {
    "orders": {"statuses": ["shipped", "invoiced"], "target": "sales_order"},
    "customers": {"update_existing": True},
    "products": {"match_by": "sku"},
    "stock": {"formula": "available_minus_reservations"},
}


async def _connect(
    http: httpx.AsyncClient,
    gw: str,
    key: JSON,
    ea_url: str,
    av_url: str,
    client: tuple[str, str] = (CLIENT_ID, CLIENT_SECRET),
) -> dict[str, list[JSON]]:
    ea_tokens = (await _call(http, "POST", f"{ea_url}/_sandbox/tokens", json={})).json()
    av_tokens = (await _call(http, "POST", f"{av_url}/_sandbox/tokens", json={})).json()
    av_auth = {"Authorization": f"Bearer {av_tokens['access_token']}"}
    companies = (await _call(http, "GET", f"{av_url}/api/v3/companies", headers=av_auth)).json()
    if not companies:
        raise DemoError("the AccountView sandbox has no company")
    client_fields = {"client_id": client[0], "client_secret": client[1]}
    connections = {
        "eaccounting": {
            **client_fields,
            "api_base_url": f"{ea_url}/v2",
            "auth_base_url": ea_url,
            "refresh_token": ea_tokens["refresh_token"],
        },
        "accountview": {
            **client_fields,
            "api_base_url": f"{av_url}/api/v3",
            "auth_base_url": f"{av_url}/ams/authorize.aspx",
            # The connectors find the company by its code (GET /companies), not by its id.
            "company": companies[0].get("Code") or companies[0]["Id"],
            "refresh_token": av_tokens["refresh_token"],
        },
    }
    for system, body in connections.items():
        await _call(http, "PUT", f"{gw}/v1/connections/{system}", headers=key, json=body)
    ea_auth = {"Authorization": f"Bearer {ea_tokens['access_token']}"}
    lookups = {}
    for name in ("termsofpayments", "articleaccountcodings", "units"):
        answer = await _call(http, "GET", f"{ea_url}/v2/{name}", headers=ea_auth)
        lookups[name] = _items(answer.json())
    return lookups


def flow_document(flow: str, *, schedule: JSON | None, settings: JSON | None = None) -> JSON:
    """``PUT /v1/flows/{flow}``'s body: the flow enabled with the sandbox-ready settings."""
    return {
        "enabled": True,
        "schedule": schedule,
        "settings": {**FLOW_SETTINGS[flow], **(settings or {})},
    }


async def configure_tenant(
    http: httpx.AsyncClient,
    gw: str,
    key: JSON,
    *,
    ea_url: str,
    av_url: str,
    flows: dict[str, JSON],
    client: tuple[str, str] = (CLIENT_ID, CLIENT_SECRET),
) -> dict[str, list[JSON]]:
    """Wire an existing tenant to the two sandboxes through the public API, so that its flows
    work end to end: both connections, the mappings (collective account 1300 — the only
    debtor collective account in the AccountView sandbox's ledger — EAN in BAR_CODE), the
    value maps read from eAccounting's own lookups (VAT codes, terms of payment, shipping
    article, revenue accounts, article account codings, units) and ``flows`` (flow -> body,
    see ``flow_document``). ``koppel up`` and ``koppel chaos`` both set their tenant up
    here, so the chaos run tests the configuration a demo user gets. Returns the lookups."""
    lookups = await _connect(http, gw, key, ea_url, av_url, client)
    for flow, document in MAPPINGS.items():
        await _call(http, "PUT", f"{gw}/v1/mappings/{flow}", headers=key, json=document)
    for name, document in value_maps(lookups).items():
        await _call(http, "PUT", f"{gw}/v1/value-maps/{name}", headers=key, json=document)
    for flow, body in flows.items():
        await _call(http, "PUT", f"{gw}/v1/flows/{flow}", headers=key, json=body)
    return lookups


async def ensure_demo_tenant(
    *, gateway_url: str, data_dir: Path, eaccounting_url: str, accountview_url: str
) -> None:
    """Create (once) and wire the demo tenant; prints the keys the first time only."""
    gw = gateway_url.rstrip("/")
    ea_url, av_url = eaccounting_url.rstrip("/"), accountview_url.rstrip("/")
    state = _load(data_dir)
    admin = admin_api_key(data_dir)
    async with httpx.AsyncClient(timeout=30.0) as http:
        if state.get("tenant_id"):
            key = {"Authorization": f"Bearer {state['api_key']}"}
            known = await _call(http, "GET", f"{gw}/v1/tenant", headers=key, ok=(200, 401))
            if known.status_code == 200 and state.get("complete"):
                print(f"Demo tenant {TENANT_NAME} ({state['tenant_id']}) is set up already.")
                return
            if known.status_code != 200:  # the data dir was reset under us: start over
                state = {}
        if not state.get("tenant_id"):
            created = await _call(
                http,
                "POST",
                f"{gw}/v1/tenants",
                headers={"Authorization": f"Bearer {admin}"},
                json={"name": TENANT_NAME},
            )
            body = created.json()
            state = {"tenant_id": body["tenant"]["id"], "api_key": body["api_key"]}
            _save(data_dir, state)
            _announce(admin, _generated_here(data_dir, admin), state, gw)
        key = {"Authorization": f"Bearer {state['api_key']}"}
        schedule = {"interval_seconds": SCHEDULE_SECONDS}
        await configure_tenant(
            http,
            gw,
            key,
            ea_url=ea_url,
            av_url=av_url,
            flows={flow: flow_document(flow, schedule=schedule) for flow in FLOWS},
        )
        runs = {}
        for flow in FLOWS:
            run = await _call(
                http, "POST", f"{gw}/v1/flows/{flow}/runs", headers=key, ok=(202, 409)
            )
            runs[flow] = run.json().get("run_id")
        state.update({"complete": True, "runs": runs})
        _save(data_dir, state)
    print(f"Demo tenant ready: four flows every {SCHEDULE_SECONDS} s, first runs started.")


def _announce(admin: str, ours: bool, state: JSON, gw: str) -> None:
    admin_line = admin if ours else "(the one in KOPPEL_ADMIN_API_KEY)"
    print(
        "\n".join(
            [
                "",
                f"Koppel is up at {gw} (API docs: {gw}/docs)",
                f"  admin API key:           {admin_line}",
                f"  demo tenant:             {TENANT_NAME} ({state['tenant_id']})",
                f"  demo tenant API key:     {state['api_key']}",
                "  These keys are shown once; keep them somewhere safe.",
                f"  Try: curl -H 'Authorization: Bearer {state['api_key']}' {gw}/v1/activity",
                "",
            ]
        ),
        flush=True,
    )
