"""Each knob for the inferred/unknown behaviours, set at run time and at start."""

from __future__ import annotations

from typing import Any

import httpx
from av_helpers import AV, make_settings

from koppel.sandbox.accountview import Knobs, create_app


def eq(source: str, value: str, vtype: str = "C", op: str = "Equal") -> dict[str, str]:
    return {
        "FilterControlSource1": source,
        "FilterOperator1": op,
        "FilterValueType1": vtype,
        "FilterValue1": value,
    }


async def knobs(av: AV, **change: object) -> dict[str, Any]:
    return dict(await av.admin("POST", "/knobs", json=change))


async def test_knobs_endpoint_round_trip_and_validation(av: AV) -> None:
    assert (await av.admin("GET", "/knobs"))["errors_with_status_200"] is False
    assert (await knobs(av, latency_ms=5))["latency_ms"] == 5
    r = await av.http.post("/_sandbox/knobs", json={"qty_avail_mode": "magic"})
    assert r.status_code == 422
    r = await av.http.post("/_sandbox/knobs", json={"no_such_knob": 1})
    assert r.status_code == 422


async def test_errors_with_status_200(av: AV) -> None:
    assert (await av.get("NOPE")).status_code == 400
    await knobs(av, errors_with_status_200=True)
    r = await av.get("NOPE")
    assert r.status_code == 200
    assert r.json()["ErrorType"] == "AccountViewError"
    r = await av.write("POST", "AR1", "CONTACT", [{"ACCT_NAME": "x"}])
    assert r.status_code == 200
    assert "verplicht" in r.json()["ErrorMessage"]
    # auth failures keep their 401 (clients re-login on it)
    assert (await av.http.get("/api/v3/companies")).status_code == 401


async def test_not_found_on_empty(av: AV) -> None:
    params = eq("ART_CODE", "UNKNOWN-001")
    assert (await av.get("AK1", **params)).status_code == 200
    await knobs(av, not_found_on_empty=True)
    r = await av.get("AK1", **params)
    assert r.status_code == 404
    assert r.json()["ErrorType"] == "AccountViewError"
    assert (await av.get("AK1", **eq("ART_CODE", "ART-0001"))).status_code == 200


async def test_email_case_sensitivity(av: AV) -> None:
    mail = (await av.rows("AR1", "CONTACT"))[0]["MAIL_BUS"]
    shouted = mail.upper()
    assert await av.rows("AR1", "CONTACT", **eq("MAIL_BUS", shouted)) == []
    await knobs(av, email_case_sensitive=False)
    rows = await av.rows("AR1", "CONTACT", **eq("MAIL_BUS", shouted))
    assert [r["MAIL_BUS"] for r in rows] == [mail]
    rows = await av.rows("AR1", "CONTACT", **eq("MAIL_BUS", shouted[:5], op="Contains"))
    assert mail in [r["MAIL_BUS"] for r in rows]


async def test_padded_char_fields(av: AV) -> None:
    await knobs(av, pad_char_fields=True)
    rows = await av.rows("AK1", "ARTICLE", PageSize=1)
    assert rows[0]["ART_CODE"] == "ART-0001".ljust(20)
    assert await av.rows("AK1", "ARTICLE", **eq("ART_CODE", "ART-0001")) == []
    assert len(await av.rows("AK1", "ARTICLE", **eq("ART_CODE", "ART-0001", op="Contains"))) == 1
    assert len(await av.rows("AK1", "ARTICLE", **eq("ART_CODE", "ART-0001".ljust(20)))) == 1
    vat = await av.rows("VA1", "VAT", **eq("VAT_CODE", "EU"))
    assert vat[0]["VAT_CODE"] == "EU"  # fills its 2-character width exactly


async def test_rate_limit(av: AV) -> None:
    await knobs(av, rate_limit_per_minute=3)
    statuses = [(await av.get("GL1")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    r = await av.get("GL1")
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1
    assert r.json()["ErrorType"] == "AccountViewError"
    await av.admin("POST", "/clock", json={"advance_seconds": 61})
    await av.login()
    assert (await av.get("GL1")).status_code == 200
    await knobs(av, rate_limit_per_minute=None)
    assert all([(await av.get("GL1")).status_code == 200 for _ in range(5)])


async def test_latency_is_added_to_api_requests(av: AV) -> None:
    await knobs(av, latency_ms=150)
    await av.admin("DELETE", "/requests")
    assert (await av.get("GL1")).status_code == 200
    entry = (await av.admin("GET", "/requests"))["entries"][-1]
    assert entry["duration_ms"] >= 150


async def test_qty_avail_modes_and_reserved_field(av: AV) -> None:
    await av.admin(
        "POST", "/articles/ART-0001", json={"qty_tech": 50, "reserved": 8, "on_order": 20}
    )

    async def art() -> dict[str, Any]:
        return dict((await av.rows("AK1", "ARTICLE", **eq("ART_CODE", "ART-0001")))[0])

    a = await art()
    assert (a["QTY_TECH"], a["QTY_FREE2"], a["QTY_AVAIL"], a["QTY_BESTEL"]) == (50, 42, 50, 20)
    assert "QTY_RES" not in a
    await knobs(av, qty_avail_mode="free")
    assert (await art())["QTY_AVAIL"] == 42
    await knobs(av, qty_avail_mode="economic", reserved_field="QTY_RES")
    a = await art()
    assert a["QTY_AVAIL"] == 62
    assert a["QTY_RES"] == 8
    rows = await av.rows("AK1", "ARTICLE", Fields="ART_CODE,QTY_RES", **eq("QTY_RES", "8", "N"))
    assert {"ART_CODE": "ART-0001", "QTY_RES": 8}.items() <= rows[0].items()


async def test_stock_changes_bump_cng_date_only_with_knob(av: AV) -> None:
    async def art() -> dict[str, Any]:
        return dict((await av.rows("AK1", "ARTICLE", **eq("ART_CODE", "ART-0002")))[0])

    before = await art()
    await av.admin("POST", "/articles/ART-0002", json={"qty_tech_delta": 5})
    after = await art()
    assert after["QTY_TECH"] == before["QTY_TECH"] + 5
    assert after["CNG_NR"] == before["CNG_NR"]
    await knobs(av, stock_change_bumps_cng_date=True)
    await av.admin("POST", "/clock", json={"advance_seconds": 5})
    await av.write(
        "POST",
        "SO1",
        "SO_HDR",
        [{"RPL_INV": "10001"}],
        ("SO_LINE", [{"ART_CODE": "ART-0002", "ORD_QTY": "1"}]),
    )
    bumped = await art()
    assert bumped["CNG_NR"] == before["CNG_NR"] + 1
    assert bumped["CNG_DATE"] > before["CNG_DATE"]


async def test_token_expires_in_field(av: AV) -> None:
    assert "expires_in" in (await av.http.post("/_sandbox/tokens")).json()
    await knobs(av, token_expires_in_field=False)
    tok = (await av.http.post("/_sandbox/tokens")).json()
    r = await av.http.post(
        "/api/v3/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tok["refresh_token"],
            "client_id": "koppel-demo",
            "client_secret": "koppel-demo-secret",
        },
    )
    assert "expires_in" not in r.json()


async def test_blocked_articles_on_orders(av: AV) -> None:
    await av.admin("POST", "/articles/ART-0003", json={"blocked": True})
    order = ([{"RPL_INV": "10001"}], ("SO_LINE", [{"ART_CODE": "ART-0003", "ORD_QTY": "1"}]))
    assert (await av.write("POST", "SO1", "SO_HDR", *order)).status_code == 400
    await knobs(av, refuse_blocked_articles=False)
    assert (await av.write("POST", "SO1", "SO_HDR", *order)).status_code == 200


async def test_page_size_knobs(av: AV) -> None:
    await knobs(av, max_page_size=10, default_page_size=4)
    assert len(await av.rows("AK1", "ARTICLE")) == 4
    assert (await av.get("AK1", PageSize=11)).status_code == 400


async def test_knobs_set_at_start() -> None:
    app = create_app(make_settings(knobs=Knobs(not_found_on_empty=True, pad_char_fields=True)))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://av"
    ) as http:
        client = AV(http, app)
        await client.login()
        assert (await client.get("AK1", **eq("ART_CODE", "ART-0001"))).status_code == 404
