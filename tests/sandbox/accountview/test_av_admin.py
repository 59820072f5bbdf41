"""Admin endpoints: reset/seed, state, request log per business object, mutation helpers."""

from __future__ import annotations

from av_helpers import AV


async def test_reset_with_other_seed_and_sizes(av: AV) -> None:
    first = await av.rows("AR1", "CONTACT")
    out = await av.admin("POST", "/reset", json={"seed": 7, "articles": 12, "debtors": 5})
    assert out["companies"][0]["tables"]["ARTICLE"] == 14
    await av.login()  # company ids depend on the seed
    others = await av.rows("AR1", "CONTACT")
    assert len(others) == 5
    assert others[0]["ACCT_NAME"] != first[0]["ACCT_NAME"]
    await av.admin("POST", "/reset", json={"seed": 7, "articles": 12, "debtors": 5})
    assert await av.rows("AR1", "CONTACT") == others


async def test_reset_empty_keeps_setup_tables(av: AV) -> None:
    await av.admin("POST", "/reset", json={"seed": 42, "empty": True})
    await av.login()
    assert await av.rows("AK1", "ARTICLE") == []
    assert await av.rows("AR1", "CONTACT") == []
    assert len(await av.rows("VA1", "VAT")) == 5
    r = await av.write(
        "POST", "AR1", "CONTACT", [{"ACCT_NAME": "Eerste", "SRC_CODE": "E", "ACCT_NR": "1300"}]
    )
    assert r.json()["CONTACT"][0]["SUB_NR"] == "10001"


async def test_state_shows_everything(av: AV) -> None:
    state = await av.admin("GET", "/state")
    assert len(state["companies"]) == 2
    c = state["companies"][0]
    assert len(c["tables"]["ARTICLE"]) == 32
    assert "_RESERVED" in c["tables"]["ARTICLE"][0]
    assert state["knobs"]["qty_avail_mode"] == "tech"
    assert "now" in state["clock"]
    assert state["tokens"]["access_tokens"] >= 1
    only = await av.admin("GET", "/state", params={"company": "KOPPELDEMO2", "table": "article"})
    assert list(only["companies"][0]["tables"]) == ["ARTICLE"]
    assert len(only["companies"][0]["tables"]["ARTICLE"]) == 5  # 30 // 10 + 2 service articles


async def test_request_log_counts_per_business_object(av: AV) -> None:
    await av.admin("DELETE", "/requests")
    await av.get("AK1", PageSize=5)
    await av.get("AK1", PageSize=5, PageNumber=2)
    await av.http.get(
        "/api/v3/AccountViewData", params={"businessobject": "ar1"}, headers=av.headers
    )
    await av.write(
        "POST", "AR1", "CONTACT", [{"ACCT_NAME": "x", "SRC_CODE": "X", "ACCT_NR": "1300"}]
    )
    log = await av.admin("GET", "/requests")
    assert log["by_business_object"] == {
        "GET /api/v3/accountviewdata AK1": 2,
        "GET /api/v3/accountviewdata AR1": 1,
        "POST /api/v3/accountviewdata AR1": 1,
    }
    assert log["counts"]["GET /api/v3/accountviewdata"] == 3
    assert log["total"] == 4


async def test_article_helpers_change_block_and_delete(av: AV) -> None:
    await av.admin("POST", "/clock", json={"now": "2031-01-01T00:00:00Z", "freeze": True})
    await av.login()
    art = await av.admin(
        "POST",
        "/articles/ART-0005",
        json={"description": "Andere naam", "price": 9.95, "blocked": True, "ean": "8719991000051"},
    )
    assert art["ART_DESC1"] == "Andere naam"
    assert art["REC_BLK"] is True
    assert art["PX_SELL"] == 9.95
    assert art["CNG_DATE"] == "2031-01-01T01:00:00"
    changed = await av.rows(
        "AK1",
        "ARTICLE",
        FilterControlSource1="CNG_DATE",
        FilterOperator1="DateOnOrAfterDate",
        FilterValueType1="T",
        FilterValue1="{^2031-01-01 00:00:00}",
    )
    assert [a["ART_CODE"] for a in changed] == ["ART-0005"]
    assert (await av.http.post("/_sandbox/articles/NOPE", json={"price": 1})).status_code == 404
    await av.admin("DELETE", "/articles/ART-0005")
    assert len(await av.rows("AK1", "ARTICLE")) == 31


async def test_insert_raw_record_for_test_setup(av: AV) -> None:
    rec = await av.admin(
        "POST",
        "/records/contact",
        json={
            "values": {
                "SUB_NR": "77777",
                "ACCT_NAME": "Shared Klant",
                "MAIL_BUS": "Shared@Example.com",
                "ACCT_NR": "1300",
                "SRC_CODE": "SHARED",
            }
        },
    )
    assert rec["SUB_NR"] == "77777"
    rows = await av.rows(
        "AR1",
        "CONTACT",
        FilterControlSource1="MAIL_BUS",
        FilterOperator1="Equal",
        FilterValueType1="C",
        FilterValue1="Shared@Example.com",
    )
    assert rows[0]["SUB_NR"] == "77777"
    r = await av.http.post("/_sandbox/records/contact", json={"values": {"NOPE": 1}})
    assert r.status_code == 422


async def test_seeded_orders_reserve_stock(av: AV) -> None:
    state = await av.admin("GET", "/state", params={"company": "KOPPELDEMO"})
    tables = state["companies"][0]["tables"]
    reserved: dict[str, float] = {}
    for line in tables["SO_LINE"]:
        reserved[line["ART_CODE"]] = reserved.get(line["ART_CODE"], 0) + line["ORD_QTY"]
    assert reserved
    for art in tables["ARTICLE"]:
        assert art["_RESERVED"] == reserved.get(art["ART_CODE"], 0)
        assert art["QTY_FREE2"] == art["QTY_TECH"] - art["_RESERVED"]


async def test_deliver_twice_and_unknown_order(av: AV) -> None:
    await av.admin("POST", "/orders/50001/deliver")
    assert (await av.http.post("/_sandbox/orders/50001/deliver")).status_code == 409
    assert (await av.http.post("/_sandbox/orders/99/deliver")).status_code == 404
