"""POST/PUT accountviewdata: body shape, coercion, validation, numbering, stock, audit."""

from __future__ import annotations

from typing import Any

from av_helpers import AV, body

DEBTOR = {
    "ACCT_NAME": "Nieuw B.V.",
    "SRC_CODE": "nieuw",
    "ACCT_NR": "1300",
    "MAIL_BUS": "info@nieuw.example",
    "CNT_CODE": "nl",
    "POST_CODE": "1234 ab",
}


def err(r: Any) -> str:
    data = r.json()
    assert data["ErrorType"] == "AccountViewError", data
    assert data["ErrorNumbers"] is None
    return str(data["ErrorMessage"])


async def test_insert_debtor_auto_numbers_and_uppercases(av: AV) -> None:
    r = await av.write("POST", "AR1", "CONTACT", [DEBTOR])
    assert r.status_code == 200, r.text
    created = r.json()["CONTACT"][0]
    assert created["SUB_NR"] == "10011"  # 10 seeded debtors
    assert created["SRC_CODE"] == "NIEUW"
    assert created["CNT_CODE"] == "NL"
    assert created["POST_CODE"] == "1234 AB"
    assert created["MAIL_BUS"] == "info@nieuw.example"  # not a forced-uppercase field
    again = (await av.write("POST", "AR1", "CONTACT", [DEBTOR])).json()["CONTACT"][0]
    assert again["SUB_NR"] == "10012"
    found = await av.rows(
        "AR1",
        "CONTACT",
        FilterControlSource1="SUB_NR",
        FilterOperator1="Equal",
        FilterValueType1="C",
        FilterValue1="10011",
    )
    assert found[0]["ACCT_NAME"] == "Nieuw B.V."


async def test_insert_with_own_sub_nr_and_duplicate_refused(av: AV) -> None:
    r = await av.write("POST", "AR1", "CONTACT", [{**DEBTOR, "SUB_NR": "d900"}])
    assert r.json()["CONTACT"][0]["SUB_NR"] == "D900"
    dup = await av.write("POST", "AR1", "CONTACT", [{**DEBTOR, "SUB_NR": "D900"}])
    assert dup.status_code == 400
    assert "bestaat al" in err(dup)


async def test_loose_property_casing_and_typed_values(av: AV) -> None:
    raw = body(
        "AR1",
        "CONTACT",
        [
            {
                **DEBTOR,
                "DD_ACT": "TRUE",
                "CRED_LIM": "2500",
                "DISC_PCT": "2,5",
                "MAND_DATE": "2024-05-01T00:00:00",
            }
        ],
    )
    lowered = {
        "bookdate": raw["BookDate"],
        "businessobject": "AR1",
        "table": {
            "definition": {
                "name": "contact",
                "fields": [
                    {"name": f["Name"], "fieldtype": f["FieldType"]}
                    for f in raw["Table"]["Definition"]["Fields"]
                ],
            }
        },
        "tabledata": {
            "data": {
                "rows": [{"values": row["Values"]} for row in raw["TableData"]["Data"]["Rows"]]
            }
        },
    }
    r = await av.http.post("/api/v3/accountviewdata", json=lowered, headers=av.headers)
    assert r.status_code == 200, r.text
    c = r.json()["CONTACT"][0]
    assert c["DD_ACT"] is True
    assert c["CRED_LIM"] == 2500
    assert c["DISC_PCT"] == 2.5
    assert c["MAND_DATE"] == "2024-05-01"
    # native JSON types too, and "False"
    r = await av.write(
        "POST", "AR1", "CONTACT", [{**DEBTOR, "DD_ACT": False, "BLK_SP": "False", "CRED_LIM": 10}]
    )
    assert r.json()["CONTACT"][0]["DD_ACT"] is False


async def test_mandatory_fields(av: AV) -> None:
    for missing in ("ACCT_NAME", "SRC_CODE", "ACCT_NR"):
        row = {k: v for k, v in DEBTOR.items() if k != missing}
        r = await av.write("POST", "AR1", "CONTACT", [row])
        assert r.status_code == 400
        assert f"CONTACT.{missing} is verplicht" in err(r)


async def test_char_length_is_enforced_with_field_name(av: AV) -> None:
    r = await av.write("POST", "AR1", "CONTACT", [{**DEBTOR, "ACCT_NAME": "x" * 41}])
    assert r.status_code == 400
    assert "CONTACT.ACCT_NAME" in err(r)
    assert "40" in err(r)
    ok = await av.write("POST", "AR1", "CONTACT", [{**DEBTOR, "ACCT_NAME": "x" * 40}])
    assert ok.status_code == 200
    r = await av.write("POST", "AR1", "CONTACT", [{**DEBTOR, "CNT_CODE": "NLD"}])
    assert "CONTACT.CNT_CODE" in err(r)


async def test_unknown_and_read_only_fields_are_refused(av: AV) -> None:
    r = await av.write("POST", "AR1", "CONTACT", [{**DEBTOR, "IS_PERSON": "true"}])
    assert r.status_code == 400
    assert "IS_PERSON" in err(r)
    r = await av.write("POST", "AR1", "CONTACT", [{**DEBTOR, "CNG_NR": "5"}])
    assert r.status_code == 400
    assert "CNG_NR" in err(r)
    r = await av.write(
        "POST", "AK1", "ARTICLE", [{"ART_CODE": "X1", "ART_DESC1": "x", "QTY_TECH": "5"}]
    )
    assert r.status_code == 400
    assert "QTY_TECH" in err(r)


async def test_wrong_table_type_and_row_shape(av: AV) -> None:
    r = await av.write("POST", "AR1", "ARTICLE", [DEBTOR])
    assert r.status_code == 400
    assert "ARTICLE" in err(r)
    raw = body("AR1", "CONTACT", [DEBTOR])
    raw["TableData"]["Data"]["Rows"][0]["Values"].pop()
    r = await av.http.post("/api/v3/accountviewdata", json=raw, headers=av.headers)
    assert r.status_code == 400
    raw = body("AR1", "CONTACT", [{**DEBTOR, "CRED_LIM": "lots"}])
    r = await av.http.post("/api/v3/accountviewdata", json=raw, headers=av.headers)
    assert r.status_code == 400
    assert "CRED_LIM" in err(r)
    r = await av.http.post("/api/v3/accountviewdata", content=b"{not json", headers=av.headers)
    assert r.status_code == 400


async def test_references_are_checked(av: AV) -> None:
    cases = [
        ("AR1", "CONTACT", {**DEBTOR, "ACCT_NR": "1210"}, "LEDGER"),
        ("AR1", "CONTACT", {**DEBTOR, "VAT_CODE": "ZZ"}, "VAT"),
        ("AR1", "CONTACT", {**DEBTOR, "DISC_CODE": "99"}, "PAY_COND"),
        ("ADDR", "DEL_ADDR", {"SUB_NR": "99999", "DEL_NAME": "x"}, "CONTACT"),
        ("AK1", "ARTICLE", {"ART_CODE": "X2", "ART_DESC1": "x", "AG_CODE": "NOPE"}, "ART_GRP"),
        ("SO1", "SO_HDR", {"RPL_INV": "99999"}, "CONTACT"),
        ("SO1", "SO_HDR", {"RPL_INV": "10001", "DEL_CODE": "99999"}, "DEL_ADDR"),
    ]
    for bo, table, row, target in cases:
        r = await av.write("POST", bo, table, [row])
        assert r.status_code == 400, (bo, row)
        assert target in err(r), (bo, err(r))


async def test_delivery_address_gets_rec_id_and_put_by_rec_id(av: AV) -> None:
    r = await av.write(
        "POST",
        "ADDR",
        "DEL_ADDR",
        [
            {
                "SUB_NR": "10001",
                "DEL_NAME": "Magazijn",
                "ADDRESS1": "Laan 1",
                "POST_CODE": "1000 aa",
                "CITY": "Amsterdam",
                "CNT_CODE": "NL",
            }
        ],
    )
    addr = r.json()["DEL_ADDR"][0]
    assert isinstance(addr["REC_ID"], int)
    assert addr["POST_CODE"] == "1000 AA"
    r = await av.write(
        "PUT", "ADDR", "DEL_ADDR", [{"REC_ID": str(addr["REC_ID"]), "CITY": "Diemen"}]
    )
    assert r.status_code == 200, r.text
    assert r.json()["DEL_ADDR"][0]["CITY"] == "Diemen"
    assert r.json()["DEL_ADDR"][0]["DEL_NAME"] == "Magazijn"


async def test_put_updates_debtor_by_sub_nr_and_maintains_audit_fields(av: AV) -> None:
    await av.admin("POST", "/clock", json={"now": "2025-06-01T10:00:00Z", "freeze": True})
    await av.login()
    created = (await av.write("POST", "AR1", "CONTACT", [DEBTOR])).json()["CONTACT"][0]
    assert created["INP_DATE"] == created["CNG_DATE"] == "2025-06-01T12:00:00"  # Amsterdam
    assert created["CNG_NR"] == 1
    assert created["INP_USR"] == "KOPPEL-DEMO"
    await av.admin("POST", "/clock", json={"advance_seconds": 60})
    r = await av.write(
        "PUT", "AR1", "CONTACT", [{"SUB_NR": created["SUB_NR"], "TEL_BUS": "020-1234567"}]
    )
    updated = r.json()["CONTACT"][0]
    assert updated["TEL_BUS"] == "020-1234567"
    assert updated["ACCT_NAME"] == "Nieuw B.V."
    assert updated["CNG_NR"] == 2
    assert updated["CNG_DATE"] == "2025-06-01T12:01:00"
    assert updated["INP_DATE"] == "2025-06-01T12:00:00"


async def test_put_errors(av: AV) -> None:
    r = await av.write("PUT", "AR1", "CONTACT", [{"ACCT_NAME": "no key"}])
    assert r.status_code == 400
    assert "SUB_NR" in err(r)
    r = await av.write("PUT", "AR1", "CONTACT", [{"SUB_NR": "99999", "ACCT_NAME": "x"}])
    assert r.status_code == 400
    assert "99999" in err(r)
    r = await av.write("PUT", "AR1", "CONTACT", [{"SUB_NR": "10001", "ACCT_NAME": ""}])
    assert r.status_code == 400
    assert "ACCT_NAME" in err(r)
    r = await av.write("PUT", "VA1", "VAT", [{"VAT_CODE": "21", "VAT_NAME": "x"}])
    assert r.status_code == 400


async def test_put_article_by_art_code(av: AV) -> None:
    r = await av.write(
        "PUT", "AK1", "ARTICLE", [{"ART_CODE": "art-0002", "ART_DESC1": "Nieuwe naam"}]
    )
    assert r.status_code == 200, r.text
    assert r.json()["ARTICLE"][0]["ART_DESC1"] == "Nieuwe naam"


async def test_sales_order_numbered_and_reserves_stock(av: AV) -> None:
    before = {a["ART_CODE"]: a for a in await av.rows("AK1", "ARTICLE")}
    art = next(a for a in before.values() if not a["REC_BLK"] and a["ART_CODE"].startswith("ART-"))
    hdr = {
        "ORD_DATE": "2025-03-01T00:00:00",
        "RPL_INV": "10001",
        "RPL_DEL": "10001",
        "COMMENT1": "eacc-order-123",
    }
    lines = [
        {"ART_CODE": art["ART_CODE"], "ORD_QTY": "3", "ART_PX": "12.10"},
        {"ART_CODE": "VERZEND", "ORD_QTY": "1", "ART_PX": "6.95"},
    ]
    r = await av.write("POST", "SO1", "SO_HDR", [hdr], ("SO_LINE", lines))
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["SO_HDR"][0]["ORD_NR"] == "50004"  # 3 seeded orders
    assert [ln["ORD_NR"] for ln in data["SO_LINE"]] == ["50004", "50004"]
    after = {a["ART_CODE"]: a for a in await av.rows("AK1", "ARTICLE")}
    a0, a1 = before[art["ART_CODE"]], after[art["ART_CODE"]]
    assert a1["QTY_TECH"] == a0["QTY_TECH"]
    assert a1["QTY_FREE2"] == a0["QTY_FREE2"] - 3
    assert a1["CNG_DATE"] == a0["CNG_DATE"]  # stock knob off by default
    # the order is findable by the eAccounting id in COMMENT1
    found = await av.rows(
        "SO1",
        "SO_HDR",
        FilterControlSource1="COMMENT1",
        FilterOperator1="Equal",
        FilterValueType1="C",
        FilterValue1="eacc-order-123",
    )
    assert len(found) == 1
    # delivering releases the reservation and lowers technical stock
    await av.admin("POST", "/orders/50004/deliver")
    done = {a["ART_CODE"]: a for a in await av.rows("AK1", "ARTICLE")}[art["ART_CODE"]]
    assert done["QTY_TECH"] == a0["QTY_TECH"] - 3
    assert done["QTY_FREE2"] == a0["QTY_FREE2"] - 3


async def test_sales_order_line_validation(av: AV) -> None:
    hdr = {"RPL_INV": "10001"}
    r = await av.write(
        "POST", "SO1", "SO_HDR", [hdr], ("SO_LINE", [{"ART_CODE": "UNKNOWN-001", "ORD_QTY": "1"}])
    )
    assert r.status_code == 400
    assert "UNKNOWN-001" in err(r)
    assert "ARTICLE" in err(r)
    await av.admin("POST", "/articles/ART-0001", json={"blocked": True})
    r = await av.write(
        "POST", "SO1", "SO_HDR", [hdr], ("SO_LINE", [{"ART_CODE": "ART-0001", "ORD_QTY": "1"}])
    )
    assert r.status_code == 400
    assert "geblokkeerd" in err(r)
    r = await av.write("POST", "SO1", "SO_HDR", [hdr], ("SO_LINE", [{"ORD_QTY": "1"}]))
    assert "SO_LINE.ART_CODE is verplicht" in err(r)
    # nothing was written by the failed requests
    assert len(await av.rows("SO1", "SO_HDR")) == 3


async def test_bad_header_id_is_refused(av: AV) -> None:
    raw = body(
        "SO1",
        "SO_HDR",
        [{"RPL_INV": "10001"}],
        ("SO_LINE", [{"ART_CODE": "VERZEND", "ORD_QTY": "1"}]),
    )
    raw["TableData"]["DetailData"][0]["Rows"][0]["Values"][1] = "7"
    r = await av.http.post("/api/v3/accountviewdata", json=raw, headers=av.headers)
    assert r.status_code == 400
    assert "HeaderId" in err(r)


async def test_sales_order_delivery_address_must_belong_to_debtor(av: AV) -> None:
    addr = (
        await av.write("POST", "ADDR", "DEL_ADDR", [{"SUB_NR": "10002", "DEL_NAME": "x"}])
    ).json()["DEL_ADDR"][0]
    r = await av.write(
        "POST",
        "SO1",
        "SO_HDR",
        [{"RPL_INV": "10001", "DEL_CODE": str(addr["REC_ID"])}],
        ("SO_LINE", [{"ART_CODE": "VERZEND", "ORD_QTY": "1"}]),
    )
    assert r.status_code == 400
    assert "DEL_CODE" in err(r)
    r = await av.write(
        "POST",
        "SO1",
        "SO_HDR",
        [{"RPL_INV": "10001", "RPL_DEL": "10002", "DEL_CODE": str(addr["REC_ID"])}],
        ("SO_LINE", [{"ART_CODE": "VERZEND", "ORD_QTY": "1"}]),
    )
    assert r.status_code == 200, r.text


async def test_sales_invoice_as_journal_page(av: AV) -> None:
    page = {
        "DJ_CODE": "VK",
        "SUB_NR": "10001",
        "TRN_DATE": "2025-02-03T00:00:00",
        "HDR_DESC": "Order 123",
        "GROSS_FLG": "False",
        "CRED_DAYS": "14",
        "DISC_CODE": "14",
    }
    lines = [
        {
            "ACCT_NR": "8000",
            "TRN_DESC": "Omzet",
            "AMOUNT": "100.00",
            "VAT_CODE": "21",
            "VAT_AMT": "21.00",
        }
    ]
    r = await av.write("POST", "DJ2", "DJ_PAGE", [page], ("DJ_LINE", lines))
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["DJ_PAGE"][0]["INV_NR"] == "100003"  # 2 seeded invoices
    assert data["DJ_PAGE"][0]["PERIOD"] == 2
    assert data["DJ_LINE"][0]["INV_NR"] == "100003"
    read = (
        await av.get(
            "DJ2P",
            FilterControlSource1="INV_NR",
            FilterOperator1="Equal",
            FilterValueType1="C",
            FilterValue1="100003",
        )
    ).json()
    assert read["DJ_LINE"][0]["AMOUNT"] == 100.0
    r = await av.write("PUT", "DJ2", "DJ_PAGE", [{"INV_NR": "100003", "HDR_DESC": "x"}])
    assert r.status_code == 400
    assert "DJ2" in err(r)
    r = await av.write("POST", "DJ2", "DJ_PAGE", [page])
    assert r.status_code == 400
    assert "DJ_LINE" in err(r)
    r = await av.write("POST", "DJ2", "DJ_PAGE", [{**page, "DJ_CODE": "XX"}], ("DJ_LINE", lines))
    assert "DAILY" in err(r)
    r = await av.write("POST", "DJ2P", "DJ_PAGE", [page], ("DJ_LINE", lines))
    assert r.status_code == 400


async def test_insert_article_and_group(av: AV) -> None:
    r = await av.write("POST", "AG1", "ART_GRP", [{"AG_CODE": "nieuw", "AG_DESC": "Nieuw"}])
    assert r.json()["ART_GRP"][0]["AG_CODE"] == "NIEUW"
    r = await av.write(
        "POST",
        "AK1",
        "ARTICLE",
        [
            {
                "ART_CODE": "ART-9999",
                "ART_DESC1": "Test",
                "AG_CODE": "NIEUW",
                "BAR_CODE": "8719991099990",
                "PX_SELL": "10",
                "VAT_CODE": "21",
            }
        ],
    )
    art = r.json()["ARTICLE"][0]
    assert art["QTY_TECH"] == 0
    assert art["QTY_FREE2"] == 0
    dup = await av.write("POST", "AK1", "ARTICLE", [{"ART_CODE": "ART-9999", "ART_DESC1": "Test"}])
    assert dup.status_code == 400
