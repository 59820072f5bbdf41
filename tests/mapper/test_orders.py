"""Default order mapping: eAccounting OrderApi → AccountView SO1 / DJ2, with the debtor."""

from __future__ import annotations

from typing import Any

import pytest

from koppel.mapper.domain.engine import map_order_record
from koppel.mapper.domain.errors import InvalidValue, UnmappedValue
from koppel.mapper.domain.lineage import Lineage
from koppel.mapper.domain.mapping import compile_mapping
from koppel.mapper.domain.settings import ORDER_NUMBER_FIELD
from koppel.mapper.domain.targets import ACCOUNTVIEW, accountview_body, validate_accountview
from koppel.mapper.domain.valuemaps import ValueMaps

from .samples import VALUE_MAPS, customer_company, order_be_person, order_nl_company

SHIPPING = {"shipping_article_numbers": ["VERZEND"]}


def mapped(
    order: dict[str, Any],
    maps: ValueMaps,
    enrichment: dict[str, Any] | None = None,
    **settings: Any,
) -> Any:
    mapping = compile_mapping("orders", {"settings": {**SHIPPING, **settings}})
    return map_order_record(order, enrichment or {}, mapping, maps)


def assert_fits(table: str, record: dict[str, Any]) -> None:
    assert validate_accountview(table, record) == [], record
    for name, column in ACCOUNTVIEW[table].items():
        if column.mandatory:
            assert record.get(name) not in (None, ""), f"{table}.{name} missing"


class TestSalesOrder:
    def test_header_carries_dates_reference_and_order_number(self, maps: ValueMaps) -> None:
        result = mapped(order_nl_company(), maps, {"email": " Info@BakkerijDeVries.NL"})
        header = result.target["header"]
        assert header["ORD_DATE"] == "2024-05-01T00:00:00"
        assert header["DEL_DATE"] == "2024-05-03T00:00:00"
        assert header[ORDER_NUMBER_FIELD] == "1042"
        assert result.target["order_number_field"] == "COMMENT1" == ORDER_NUMBER_FIELD
        assert result.target["order_number"] == "1042"
        assert header["COMMENT2"] == "PO-77"
        assert header["TO_EMAIL"] == "info@bakkerijdevries.nl"
        assert header["SHIP_MTH"] == "PNL"
        assert result.target["book_date"] == "2024-05-01"
        assert result.target_kind == "sales_order"
        assert_fits("SO_HDR", header)

    def test_lines_skip_text_rows_apply_line_discount_and_sku_map(self, maps: ValueMaps) -> None:
        lines = mapped(order_nl_company(), maps).target["lines"]
        assert [(ln["ART_CODE"], ln["ORD_QTY"], ln["ART_PX"]) for ln in lines] == [
            ("BROOD-01", 10.0, 2.25),  # 2.50 less 10 %
            ("KOF1000", 2.0, 18.0),  # sku_map KOFFIE-1KG → KOF1000
            ("MOLEN-X", 1.0, 100.0),
            ("VERZEND", 1.0, 6.95),  # shipping row → the tenant's shipping article
        ]
        for line in lines:
            assert_fits("SO_LINE", line)

    def test_order_level_discount_becomes_one_line_on_the_discount_article(
        self, maps: ValueMaps
    ) -> None:
        lines = mapped(order_nl_company(), maps, discount_mode="order").target["lines"]
        assert lines[0]["ART_PX"] == 2.5
        assert lines[-1] == {
            "ART_CODE": "KORTING",
            "ORD_QTY": 1.0,
            "ART_PX": -2.5,
            "DEL_DATE": "2024-05-03T00:00:00",
        }

    def test_enriched_shipping_cost_adds_a_line_per_delivery_method(self, maps: ValueMaps) -> None:
        result = mapped(order_be_person(), maps, {"shipping_cost": 4.95})
        assert result.target["lines"][-1]["ART_CODE"] == "VERZEND-BE"
        assert result.skus == ["MOLEN-X", "VERZEND-BE"]

    def test_incl_vat_prices_are_converted_to_an_excl_vat_administration(
        self, maps: ValueMaps
    ) -> None:
        lines = mapped(order_be_person(), maps).target["lines"]
        assert lines[0]["ART_PX"] == 100.0  # 121 incl. 21 % (row rate given as 0.21)

    def test_excl_vat_prices_are_converted_to_an_incl_vat_administration(
        self, maps: ValueMaps
    ) -> None:
        lines = mapped(order_nl_company(), maps, prices_include_vat=True).target["lines"]
        assert lines[2]["ART_PX"] == 121.0

    def test_delivery_address_is_normalised_for_the_del_addr_check(self, maps: ValueMaps) -> None:
        delivery = mapped(order_nl_company(), maps).target["delivery"]
        assert delivery == {
            "DEL_NAME": "Bakkerij De Vries, filiaal Den Haag",
            "ADDRESS1": "Laan van Meerdervoort 1001 A",
            "POST_CODE": "2555 CD",
            "CITY": "Den Haag",
            "CNT_CODE": "NL",
        }
        assert_fits("DEL_ADDR", delivery)

    def test_debtor_from_the_order_billing_address(self, maps: ValueMaps) -> None:
        customer = mapped(order_nl_company(), maps, {"email": "INFO@bakkerijdevries.nl "}).customer
        assert customer["ACCT_NAME"] == "Bakkerij De Vries B.V."
        assert (customer["ST_STREET"], customer["ST_NR"], customer["ST_EXTRA"]) == (
            "Dorpsstraat",
            "12",
            "a-2",
        )
        assert customer["POST_CODE"] == "1234 AB"
        assert customer["CITY"] == "Utrecht"
        assert customer["CNT_CODE"] == "NL"
        assert customer["MAIL_BUS"] == "info@bakkerijdevries.nl"
        assert customer["DISC_CODE"] == "30"
        assert_fits("CONTACT", customer)

    def test_debtor_from_the_enriched_customer_with_contact_person(self, maps: ValueMaps) -> None:
        customer = mapped(order_nl_company(), maps, {"customer": customer_company()}).customer
        assert customer["MAIN_CONT"] == "Jan de Vries"
        assert customer["MC_MAILB"] == "jan@bakkerijdevries.nl"
        assert customer["VAT_NR"] == "NL004495445B01"

    def test_foreign_person_keeps_its_postcode_and_gets_its_country(self, maps: ValueMaps) -> None:
        result = mapped(order_be_person(), maps)
        assert result.customer["POST_CODE"] == "1000"
        assert result.customer["CNT_CODE"] == "BE"
        assert result.customer["COUNTRY"] == "België"
        assert result.target["header"]["ORD_DATE"] == "2024-05-02T00:00:00"

    def test_default_debtor_books_everything_on_one_debtor(self, maps: ValueMaps) -> None:
        result = mapped(order_nl_company(), maps, use_default_debtor=True)
        assert result.customer == {"SUB_NR": "99999"}
        assert result.target["default_debtor"] == "99999"
        assert result.target["header"]["RPL_INV"] == "99999"

    def test_body_is_positional_with_rowid_and_headerid(self, maps: ValueMaps) -> None:
        target = mapped(order_nl_company(), maps).target
        body = accountview_body(
            business_object="SO1",
            header_table="SO_HDR",
            header=target["header"],
            detail_table="SO_LINE",
            lines=target["lines"],
            book_date=target["book_date"],
        )
        fields = [f["Name"] for f in body["Table"]["Definition"]["Fields"]]
        assert fields[0] == "RowId"
        assert len(body["TableData"]["Data"]["Rows"][0]["Values"]) == len(fields)
        detail = body["TableData"]["DetailData"][0]["Rows"]
        assert [row["Values"][:2] for row in detail] == [
            ["1", "1"],
            ["2", "1"],
            ["3", "1"],
            ["4", "1"],
        ]


class TestSalesInvoice:
    def test_journal_lines_carry_revenue_account_vat_code_and_vat(self, maps: ValueMaps) -> None:
        result = mapped(order_nl_company(), maps, target_kind="sales_invoice")
        target = result.target
        assert target["business_object"] == "DJ2"
        assert target["header"]["DJ_CODE"] == "V"
        assert target["header"]["COMMENT1"] == "1042"
        assert target["header"]["GROSS_FLG"] is False
        assert target["header"]["DISC_CODE"] == "30"
        first = target["lines"][0]
        assert first == {
            "ACCT_NR": "8000",
            "TRN_DESC": "Volkoren brood",
            "AMOUNT": 22.5,
            "VAT_CODE": "1",
            "VAT_AMT": 2.03,
            "TRN_QTY": 10.0,
        }
        assert target["lines"][2]["VAT_CODE"] == "2"
        for line in target["lines"]:
            assert_fits("DJ_LINE", line)
        assert_fits("DJ_PAGE", target["header"])

    def test_unmapped_vat_rate_names_country_rate_and_map(self) -> None:
        maps = ValueMaps.from_documents({**VALUE_MAPS, "vat_codes": {"entries": {"NL:21": "2"}}})
        order = order_be_person()
        with pytest.raises(UnmappedValue) as caught:
            mapped(order, maps, target_kind="sales_invoice")
        assert caught.value.reason_code == "unmapped_value"
        assert str(caught.value) == (
            "Order 1043: no AccountView VAT code is mapped for country BE at 21% — add it to value map 'vat_codes'"
        )

    def test_unmapped_revenue_account(self) -> None:
        maps = ValueMaps.from_documents(
            {**VALUE_MAPS, "revenue_accounts": {"entries": {"NL": "8000"}}}
        )
        with pytest.raises(UnmappedValue, match="revenue account is mapped for country BE"):
            mapped(order_be_person(), maps, target_kind="sales_invoice")


class TestFailures:
    def test_missing_shipping_article(self) -> None:
        maps = ValueMaps.from_documents({})
        with pytest.raises(UnmappedValue, match="delivery method 'PostNL'.*'shipping_article'"):
            mapped(order_nl_company(), maps)

    def test_order_without_article_lines(self, maps: ValueMaps) -> None:
        order = order_nl_company()
        order["Rows"] = [order["Rows"][2]]
        with pytest.raises(InvalidValue, match="no lines"):
            mapped(order, maps)

    def test_bad_quantity(self, maps: ValueMaps) -> None:
        order = order_nl_company()
        order["Rows"][0]["Quantity"] = "veel"
        with pytest.raises(InvalidValue, match="quantity of BROOD-01"):
            mapped(order, maps)


class TestOverrides:
    def test_header_line_and_contact_overrides(self, maps: ValueMaps) -> None:
        mapping = compile_mapping(
            "orders",
            {
                "settings": SHIPPING,
                "fields": {
                    "SO_HDR.COMMENT2": "concat('Webshop ', source.Number, ' / ', value)",
                    "SO_LINE.ART_CODE": "upper(default(line.ArticleNumber, value))",
                    "CONTACT.ACCT_NAME": {
                        "from": "source.InvoiceCustomerName",
                        "transforms": [{"fn": "upper"}],
                    },
                },
            },
        )
        lineage = Lineage()
        result = map_order_record(order_nl_company(), {}, mapping, maps, lineage=lineage)
        assert result.target["header"]["COMMENT2"] == "Webshop 1042 / PO-77"
        assert [ln["ART_CODE"] for ln in result.target["lines"]][:2] == ["BROOD-01", "KOFFIE-1KG"]
        assert result.target["lines"][3]["ART_CODE"] == "VERZEND"  # no source row: keeps default
        assert result.customer is not None
        assert result.customer["ACCT_NAME"] == "BAKKERIJ DE VRIES B.V."
        assert lineage.fields["SO_HDR.COMMENT2"]["rule"] == "override"
        assert lineage.fields["SO_LINE[0].ART_CODE"]["sources"] == ["line.ArticleNumber", "value"]
        assert lineage.fields["SO_LINE[0].ORD_QTY"]["sources"] == ["line.Quantity"]
        assert lineage.fields["CONTACT.ACCT_NAME"]["transforms"] == ["upper"]

    def test_override_too_long_for_a_text_column_is_cut_with_a_warning(
        self, maps: ValueMaps
    ) -> None:
        mapping = compile_mapping(
            "orders",
            {
                "settings": SHIPPING,
                "fields": {
                    "SO_HDR.COMMENT2": "concat(source.InvoiceCustomerName, source.InvoiceCustomerName, source.InvoiceCustomerName)",
                },
            },
        )
        result = map_order_record(order_nl_company(), {}, mapping, maps)
        assert len(result.target["header"]["COMMENT2"]) == 60
        assert any("SO_HDR.COMMENT2 was cut to 60" in w for w in result.warnings)

    def test_override_too_long_for_a_key_column_fails(self, maps: ValueMaps) -> None:
        mapping = compile_mapping(
            "orders",
            {
                "settings": SHIPPING,
                "fields": {
                    "SO_LINE.ART_CODE": "concat(line.ArticleNumber, '-THIS-IS-FAR-TOO-LONG')",
                },
            },
        )
        with pytest.raises(InvalidValue, match="too long for SO_LINE.ART_CODE"):
            map_order_record(order_nl_company(), {}, mapping, maps)


class TestFlowSettingsFromTheOrdersService:
    """``OrderFetched.enrichment`` as the orders poller builds it: the customer, defaults for
    empty order fields, and the gateway's orders flow settings."""

    def test_flow_settings_choose_target_and_discount_mode(self, maps: ValueMaps) -> None:
        enrichment = {"settings": {"target": "sales_invoice", "discount_mode": "order"}}
        result = mapped(order_nl_company(), maps, enrichment)
        assert result.target_kind == "sales_invoice"
        assert result.target["lines"][-1]["TRN_DESC"] == "Discount"

    def test_flow_articles_are_used_when_the_value_maps_have_none(self) -> None:
        maps = ValueMaps.from_documents({"sku_map": {"entries": {}}})
        enrichment = {
            "settings": {
                "shipping_article": "SHIP-FLOW",
                "discount_article": "DISC-FLOW",
                "discount_mode": "order",
            }
        }
        lines = mapped(order_nl_company(), maps, enrichment).target["lines"]
        assert [ln["ART_CODE"] for ln in lines[-2:]] == ["SHIP-FLOW", "DISC-FLOW"]

    def test_value_maps_win_over_flow_articles(self, maps: ValueMaps) -> None:
        lines = mapped(
            order_nl_company(), maps, {"settings": {"shipping_article": "SHIP-FLOW"}}
        ).target["lines"]
        assert lines[-1]["ART_CODE"] == "VERZEND"

    def test_header_fields_and_defaults(self, maps: ValueMaps) -> None:
        order = order_nl_company()
        order["DeliveryCountryCode"] = None
        order["InvoiceCountryCode"] = None
        enrichment = {
            "settings": {"header_fields": {"EMP_NR": "WEB"}},
            "defaults": {"InvoiceCountryCode": "NL"},
            "customer": customer_company(),
            "store_id": "shop-1",
            "payment_status": "Paid",
        }
        result = mapped(order, maps, enrichment)
        assert result.target["header"]["EMP_NR"] == "WEB"
        assert result.target["delivery"]["CNT_CODE"] == "NL"
        assert result.customer["ACCT_NAME"] == "Bakkerij De Vries B.V."
