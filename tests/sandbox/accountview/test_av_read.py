"""GET endpoints: companies, business objects, accountviewdata (paging, filters, sort, fields)."""

from __future__ import annotations

import pytest
from av_helpers import AV


async def test_companies_shape(av: AV) -> None:
    r = await av.http.get(
        "/api/v3/Companies", headers={"Authorization": av.headers["Authorization"]}
    )
    companies = r.json()
    assert len(companies) == 2
    assert set(companies[0]) == {"Id", "Description", "Code"}
    assert companies[0]["Code"] == "KOPPELDEMO"


async def test_business_objects_list(av: AV) -> None:
    r = await av.http.get("/api/v3/AccountViewSystemBusinessObjects", headers=av.headers)
    bos = {b["Code"]: b for b in r.json()}
    assert {"AR1", "ADDR", "AK1", "AG1", "SO1", "DJ2", "DJ2P", "VA1", "GL1", "DJ1"} <= bos.keys()
    assert set(bos["AR1"]) == {
        "Code",
        "Description",
        "InsertAllowed",
        "UpdateAllowed",
        "DeleteAllowed",
    }
    assert bos["DJ2"]["InsertAllowed"]
    assert not bos["DJ2"]["UpdateAllowed"]


async def test_x_company_is_required_and_checked(av: AV) -> None:
    h = {"Authorization": av.headers["Authorization"]}
    r = await av.http.get("/api/v3/accountviewdata", params={"BusinessObject": "AK1"}, headers=h)
    assert r.status_code == 400
    assert r.json() == {
        "ErrorType": "AccountViewError",
        "ErrorNumbers": None,
        "ErrorMessage": "De header x-company ontbreekt",
    }
    h["x-company"] = "no-such-company"
    r = await av.http.get("/api/v3/accountviewdata", params={"BusinessObject": "AK1"}, headers=h)
    assert r.status_code == 400


async def test_unknown_business_object(av: AV) -> None:
    r = await av.get("XX9")
    assert r.status_code == 400
    assert "XX9" in r.json()["ErrorMessage"]


async def test_paths_and_parameter_names_are_case_insensitive(av: AV) -> None:
    for path in ("/api/v3/accountviewdata", "/API/V3/AccountViewData", "/api/v3/AccountViewData/"):
        for bo_key, size_key in (
            ("BusinessObject", "PageSize"),
            ("businessobject", "pagesize"),
            ("businessObject", "PAGESIZE"),
        ):
            r = await av.http.get(path, params={bo_key: "AK1", size_key: "3"}, headers=av.headers)
            assert r.status_code == 200, (path, bo_key)
            assert len(r.json()["ARTICLE"]) == 3


async def test_response_shape_uppercase_keys_ext_key_and_row_index(av: AV) -> None:
    r = await av.get("AK1", PageSize=2)
    assert list(r.json()) == ["ARTICLE"]
    rows = r.json()["ARTICLE"]
    assert all(k == k.upper() or k == "ARTICLE_Id" for k in rows[0])
    assert [row["ARTICLE_Id"] for row in rows] == [0, 1]
    assert isinstance(rows[0]["EXT_KEY"], int)
    assert rows[0]["INP_DATE"][10] == "T"
    assert len(rows[0]["INP_DATE"]) == 19
    assert isinstance(rows[0]["REC_BLK"], bool)


async def test_detail_tables_come_back_as_extra_keys(av: AV) -> None:
    data = (await av.get("SO1")).json()
    assert set(data) == {"SO_HDR", "SO_LINE"}
    hdr_ids = {h["ORD_NR"]: h["SO_HDR_Id"] for h in data["SO_HDR"]}
    assert data["SO_LINE"]
    for line in data["SO_LINE"]:
        assert line["SO_HDR_Id"] == hdr_ids[line["ORD_NR"]]
    pages = (await av.get("DJ2P")).json()
    assert set(pages) == {"DJ_PAGE", "DJ_LINE"}


# --- paging ------------------------------------------------------------------------------


async def _all_codes(av: AV) -> list[str]:
    return [r["ART_CODE"] for r in await av.rows("AK1", "ARTICLE")]


async def test_page_number_paging_until_short_page(av: AV) -> None:
    everything = await _all_codes(av)
    assert len(everything) == 32  # 30 catalogue articles + 2 service articles
    seen: list[str] = []
    page = 1
    while True:
        rows = await av.rows("AK1", "ARTICLE", PageSize=10, PageNumber=page)
        seen += [r["ART_CODE"] for r in rows]
        if len(rows) < 10:
            break
        page += 1
    assert seen == everything
    assert page == 4  # last page partial (2 rows)


async def test_exactly_one_full_page_then_an_empty_page(av: AV) -> None:
    assert len(await av.rows("AK1", "ARTICLE", PageSize=32, PageNumber=1)) == 32
    assert await av.rows("AK1", "ARTICLE", PageSize=32, PageNumber=2) == []


async def test_empty_result_is_200_with_empty_array(av: AV) -> None:
    r = await av.get(
        "AK1",
        FilterControlSource1="ART_CODE",
        FilterOperator1="Equal",
        FilterValueType1="C",
        FilterValue1="UNKNOWN-001",
    )
    assert r.status_code == 200
    assert r.json() == {"ARTICLE": []}


async def test_keyset_paging_with_last_key(av: AV) -> None:
    contacts = await av.rows("AR1", "CONTACT")
    keys = [c["SUB_NR"] for c in contacts]
    assert keys == sorted(keys)
    first = await av.rows("AR1", "CONTACT", PageSize=4)
    second = await av.rows("AR1", "CONTACT", PageSize=4, lastKey=first[-1]["SUB_NR"])
    assert [c["SUB_NR"] for c in first + second] == keys[:8]
    # REC_ID keyset for articles
    arts = await av.rows("AK1", "ARTICLE", PageSize=5, lastKey="30")
    assert [a["REC_ID"] for a in arts] == [31, 32]
    assert await av.rows("AK1", "ARTICLE", PageSize=5, lastKey="32") == []


async def test_bad_page_parameters(av: AV) -> None:
    assert (await av.get("AK1", PageSize=0)).status_code == 400
    assert (await av.get("AK1", PageSize=1001)).status_code == 400
    assert (await av.get("AK1", PageSize=10, PageNumber=0)).status_code == 400
    assert (await av.get("AK1", PageSize="ten")).status_code == 400


# --- filters -----------------------------------------------------------------------------


def flt(
    n: int, source: str, op: str, vtype: str, value: str, is_list: bool = False
) -> dict[str, str]:
    return {
        f"FilterControlSource{n}": source,
        f"FilterOperator{n}": op,
        f"FilterValueType{n}": vtype,
        f"FilterValue{n}": value,
        f"FilterIsListOfValues{n}": "true" if is_list else "false",
    }


async def test_filter_equal_char_and_table_qualified_source(av: AV) -> None:
    rows = await av.rows("AK1", "ARTICLE", **flt(1, "article.art_code", "Equal", "C", "ART-0007"))
    assert [r["ART_CODE"] for r in rows] == ["ART-0007"]


async def test_filter_operator_names_are_case_insensitive(av: AV) -> None:
    for op in ("equal", "EQUAL", "Equal"):
        rows = await av.rows("AK1", "ARTICLE", **flt(1, "ART_CODE", op, "C", "ART-0003"))
        assert len(rows) == 1


async def test_filter_notequal(av: AV) -> None:
    rows = await av.rows("AK1", "ARTICLE", **flt(1, "ART_CODE", "notequal", "C", "ART-0007"))
    assert len(rows) == 31
    assert "ART-0007" not in [r["ART_CODE"] for r in rows]


async def test_filter_contains(av: AV) -> None:
    rows = await av.rows("AK1", "ARTICLE", **flt(1, "ART_CODE", "Contains", "C", "-001"))
    assert sorted(r["ART_CODE"] for r in rows) == [f"ART-001{i}" for i in range(10)]


async def test_filter_numeric_value_type(av: AV) -> None:
    all_rows = await av.rows("AK1", "ARTICLE")
    target = all_rows[4]["PX_SELL"]
    rows = await av.rows("AK1", "ARTICLE", **flt(1, "PX_SELL", "Equal", "N", str(target)))
    assert rows
    assert all(r["PX_SELL"] == target for r in rows)
    blocked = await av.rows("AK1", "ARTICLE", **flt(1, "REC_BLK", "Equal", "C", "true"))
    assert all(r["REC_BLK"] for r in blocked)
    assert len(blocked) == sum(r["REC_BLK"] for r in all_rows)


async def test_filter_list_of_values_any_of(av: AV) -> None:
    codes = "ART-0002,ART-0005, ART-0009,UNKNOWN-001"
    rows = await av.rows("AK1", "ARTICLE", **flt(1, "ART_CODE", "Equal", "C", codes, True))
    assert sorted(r["ART_CODE"] for r in rows) == ["ART-0002", "ART-0005", "ART-0009"]


async def _set_cng(av: AV, code: str, when: str) -> None:
    await av.admin("POST", "/clock", json={"now": when, "freeze": True})
    await av.login()  # the jump expired the old token
    await av.admin("POST", f"/articles/{code}", json={"description": f"changed {code}"})


async def test_date_on_or_after_with_foxpro_literals(av: AV) -> None:
    await _set_cng(av, "ART-0003", "2030-01-31T11:00:00Z")  # 12:00 Amsterdam time
    await _set_cng(av, "ART-0004", "2030-02-01T08:00:00Z")
    # datetime literal
    rows = await av.rows(
        "AK1", "ARTICLE", **flt(1, "CNG_DATE", "DateOnOrAfterDate", "T", "{^2030-01-31 12:00:00}")
    )
    assert sorted(r["ART_CODE"] for r in rows) == ["ART-0003", "ART-0004"]
    rows = await av.rows(
        "AK1", "ARTICLE", **flt(1, "CNG_DATE", "DateOnOrAfterDate", "T", "{^2030-01-31 12:00:01}")
    )
    assert [r["ART_CODE"] for r in rows] == ["ART-0004"]
    # date literal
    rows = await av.rows(
        "AK1", "ARTICLE", **flt(1, "CNG_DATE", "dateonorafterdate", "D", "{^2030-02-01}")
    )
    assert [r["ART_CODE"] for r in rows] == ["ART-0004"]
    # Equal on a datetime field with a date value matches the whole day
    rows = await av.rows("AK1", "ARTICLE", **flt(1, "CNG_DATE", "Equal", "D", "{^2030-01-31}"))
    assert [r["ART_CODE"] for r in rows] == ["ART-0003"]
    assert rows[0]["CNG_DATE"] == "2030-01-31T12:00:00"


async def test_bad_filters_are_errors(av: AV) -> None:
    assert (await av.get("AK1", **flt(1, "NO_SUCH", "Equal", "C", "x"))).status_code == 400
    assert (await av.get("AK1", **flt(1, "ART_CODE", "GreaterThan", "C", "x"))).status_code == 400
    assert (await av.get("AK1", **flt(1, "ART_CODE", "Equal", "Q", "x"))).status_code == 400
    assert (
        await av.get("AK1", **flt(1, "CNG_DATE", "DateOnOrAfterDate", "T", "{^bad}"))
    ).status_code == 400
    assert (
        await av.get("AK1", **flt(1, "ART_CODE", "DateOnOrAfterDate", "D", "{^2024-01-01}"))
    ).status_code == 400


async def test_filters_combine_with_and_by_default_and_or_with_match_any(av: AV) -> None:
    params = {
        **flt(1, "ART_CODE", "Equal", "C", "ART-0001"),
        **flt(2, "ART_CODE", "Equal", "C", "ART-0002"),
    }
    assert await av.rows("AK1", "ARTICLE", **params) == []
    rows = await av.rows("AK1", "ARTICLE", matchAnyFilter="true", **params)
    assert sorted(r["ART_CODE"] for r in rows) == ["ART-0001", "ART-0002"]
    params3 = {
        **flt(1, "ART_CODE", "Contains", "C", "ART-000"),
        **flt(2, "AG_CODE", "Equal", "C", "KEUKEN"),
    }
    rows = await av.rows("AK1", "ARTICLE", **params3)
    assert rows
    assert all(r["AG_CODE"] == "KEUKEN" and r["ART_CODE"].startswith("ART-000") for r in rows)


async def test_lookup_debtor_by_email_like_the_php_client(av: AV) -> None:
    contact = (await av.rows("AR1", "CONTACT"))[3]
    rows = await av.rows(
        "AR1", "CONTACT", PageSize=1, **flt(1, "MAIL_BUS", "Equal", "C", contact["MAIL_BUS"])
    )
    assert rows[0]["SUB_NR"] == contact["SUB_NR"]


# --- sorting and fields ------------------------------------------------------------------


async def test_sorting_ascending_descending_and_multi_key(av: AV) -> None:
    rows = await av.rows("AK1", "ARTICLE", SortFields="PX_SELL", SortOrder="descending")
    prices = [r["PX_SELL"] for r in rows]
    assert prices == sorted(prices, reverse=True)
    rows = await av.rows("AK1", "ARTICLE", SortFields="ag_code, art_code", SortOrder="ascending")
    keys = [(r["AG_CODE"], r["ART_CODE"]) for r in rows]
    assert keys == sorted(keys)
    assert (await av.get("AK1", SortFields="NOPE")).status_code == 400


@pytest.mark.parametrize(
    "fields",
    ["art_code,px_sell", "ARTICLE.ART_CODE, article.PX_SELL", "Art_Code ,ARTICLE.px_sell"],
)
async def test_fields_selection_forms(av: AV, fields: str) -> None:
    rows = await av.rows("AK1", "ARTICLE", PageSize=2, Fields=fields)
    assert set(rows[0]) == {"ART_CODE", "PX_SELL", "EXT_KEY", "ARTICLE_Id"}


async def test_fields_star_and_unknown(av: AV) -> None:
    rows = await av.rows("AK1", "ARTICLE", PageSize=1, Fields="*")
    assert {"ART_CODE", "QTY_FREE2", "BAR_CODE", "CNG_DATE"} <= set(rows[0])
    assert (await av.get("AK1", Fields="ART_CODE,NOPE")).status_code == 400
    assert (await av.get("AK1", Fields="CONTACT.SUB_NR")).status_code == 400


async def test_fields_on_header_and_detail(av: AV) -> None:
    data = (await av.get("SO1", Fields="so_hdr.ord_nr,SO_LINE.ART_CODE,ord_qty")).json()
    assert set(data["SO_HDR"][0]) == {"ORD_NR", "EXT_KEY", "SO_HDR_Id"}
    assert set(data["SO_LINE"][0]) == {"ART_CODE", "ORD_QTY", "EXT_KEY", "SO_LINE_Id", "SO_HDR_Id"}


async def test_book_date_is_accepted_and_validated(av: AV) -> None:
    assert (await av.get("GL1", BookDate="2024-05-01")).status_code == 200
    assert (await av.get("GL1", BookDate="not-a-date")).status_code == 400


async def test_reference_tables_are_seeded(av: AV) -> None:
    vat = {v["VAT_CODE"]: v for v in await av.rows("VA1", "VAT")}
    assert vat["21"]["VAT_PCT"] == 21.0
    assert vat["09"]["VAT_PCT"] == 9.0
    assert {"00", "EU", "EX"} <= vat.keys()
    ledgers = {g["ACCT_NR"]: g["ACCT_NAME"] for g in await av.rows("GL1", "LEDGER")}
    assert ledgers["1300"] == "Debiteuren"
    assert {"8000", "8010", "8020"} <= ledgers.keys()
    journals = await av.rows("DJ1", "DAILY", **flt(1, "DJ_NAME", "Equal", "C", "Verkoopboek"))
    assert journals[0]["DJ_CODE"] == "VK"
    assert len(await av.rows("AG1", "ART_GRP")) == 6
    assert {p["DISC_CODE"] for p in await av.rows("PC1", "PAY_COND")} >= {"14", "30"}
