"""Default customer mapping: eAccounting CustomerApi → AccountView CONTACT."""

from __future__ import annotations

from typing import Any

import pytest

from koppel.mapper.domain.engine import map_customer_record
from koppel.mapper.domain.errors import InvalidValue, UnmappedValue
from koppel.mapper.domain.lineage import Lineage
from koppel.mapper.domain.mapping import compile_mapping
from koppel.mapper.domain.targets import ACCOUNTVIEW, validate_accountview
from koppel.mapper.domain.valuemaps import ValueMaps

from .samples import VALUE_MAPS, customer_company, customer_german_company, customer_person


def contact(customer: dict[str, Any], maps: ValueMaps, **settings: Any) -> dict[str, Any]:
    return map_customer_record(
        customer, compile_mapping("customers", {"settings": settings}), maps
    ).target


def test_company_debtor_with_contact_person(maps: ValueMaps) -> None:
    row = contact(customer_company(), maps)
    assert row["ACCT_NAME"] == "Bakkerij De Vries B.V."
    assert row["SRC_CODE"] == "BAKKERIJDE"
    assert row["ACCT_NR"] == "1210"
    assert row["MAIL_BUS"] == "info@bakkerijdevries.nl"  # trimmed, lower case
    assert row["MAIN_CONT"] == "Jan de Vries"
    assert row["MC_MAILB"] == "jan@bakkerijdevries.nl"
    assert (row["ST_STREET"], row["ST_NR"], row["ST_EXTRA"]) == (
        "Laan van Meerdervoort",
        "1001",
        "A",
    )
    assert row["POST_CODE"] == "2555 CD"
    assert row["VAT_NR"] == "NL004495445B01"
    assert row["DISC_CODE"] == "30"
    assert row["VAT_CODE"] == "2"
    assert row["COC_CODE"] == "12345678"
    assert "SUB_NR" not in row  # auto-numbered on insert; the customers service matches by e-mail


def test_person_debtor_has_no_contact_person(maps: ValueMaps) -> None:
    row = contact(customer_person(), maps)
    assert row["ACCT_NAME"] == "Piet Jansen"
    assert "MAIN_CONT" not in row
    assert "MC_MAILB" not in row
    assert (row["ST_STREET"], row["ST_NR"], row["ST_EXTRA"]) == ("Postbus", "12", "")
    assert row["POST_CODE"] == "9700 AA"


def test_foreign_company_is_cut_to_column_lengths_with_warnings(maps: ValueMaps) -> None:
    result = map_customer_record(customer_german_company(), compile_mapping("customers", {}), maps)
    row = result.target
    assert row["ACCT_NAME"] == "Müller & Söhne GmbH Feinkost und Delikat"  # C40
    assert row["SRC_CODE"] == "MLLERSHNEG"
    assert row["VAT_NR"] == "DE136695976"
    assert row["VAT_CODE"] == "6"
    assert row["CNT_CODE"] == "DE"
    assert row["COUNTRY"] == "Duitsland"
    assert row["POST_CODE"] == "10115"
    assert (row["ST_STREET"], row["ST_NR"], row["ST_EXTRA"]) == ("Bahnhofstr.", "7", "3")
    assert any("CONTACT.ACCT_NAME was cut to 40" in w for w in result.warnings)


@pytest.mark.parametrize("make", [customer_company, customer_person, customer_german_company])
def test_every_mandatory_column_within_its_length(make: Any, maps: ValueMaps) -> None:
    row = contact(make(), maps)
    assert validate_accountview("CONTACT", row) == []
    for name, column in ACCOUNTVIEW["CONTACT"].items():
        if column.mandatory:
            assert row.get(name), name
        if name in row and column.type == "C" and column.length:
            assert len(str(row[name])) <= column.length
            if column.upper:
                assert str(row[name]) == str(row[name]).upper()


def test_unmapped_terms_of_payment_names_value_and_map() -> None:
    maps = ValueMaps.from_documents(
        {**VALUE_MAPS, "terms_of_payment": {"entries": {"other": "14"}}}
    )
    customer = customer_company()
    with pytest.raises(UnmappedValue) as caught:
        contact(customer, maps)
    assert "Customer 'Bakkerij De Vries B.V.'" in caught.value.reason
    assert "terms of payment" in caught.value.reason
    assert "'terms_of_payment'" in caught.value.reason
    assert caught.value.context["map_name"] == "terms_of_payment"


def test_terms_of_payment_by_name_when_the_map_uses_names() -> None:
    maps = ValueMaps.from_documents(
        {**VALUE_MAPS, "terms_of_payment": {"entries": {"30 DAGEN": "30"}}}
    )
    assert contact(customer_company(), maps)["DISC_CODE"] == "30"


def test_unconfigured_maps_leave_optional_columns_out() -> None:
    row = contact(customer_company(), ValueMaps())
    assert "DISC_CODE" not in row
    assert "VAT_CODE" not in row


def test_revenue_account_written_to_the_configured_column(maps: ValueMaps) -> None:
    row = contact(customer_company(), maps, revenue_account_field="K1_OMZET")
    assert row["K1_OMZET"] == "8000"


def test_invalid_vat_number_and_email_fail_in_words(maps: ValueMaps) -> None:
    customer = customer_company()
    customer["VatNumber"] = "NL123"
    with pytest.raises(InvalidValue, match="'NL123' is not a valid EU VAT number"):
        contact(customer, maps)
    customer = customer_person()
    customer["EmailAddress"] = "piet at example"
    with pytest.raises(InvalidValue, match="not a valid e-mail"):
        contact(customer, maps)


def test_override_and_lineage(maps: ValueMaps) -> None:
    mapping = compile_mapping(
        "customers",
        {
            "fields": {
                "CONTACT.SRC_CODE": "upper(truncate(source.CustomerNumber, 10))",
                "CONTACT.PAY_NAME": "source.Name | truncate(24)",
            }
        },
    )
    lineage = Lineage()
    result = map_customer_record(customer_company(), mapping, maps, lineage=lineage)
    assert result.target["SRC_CODE"] == "42"
    assert result.target["PAY_NAME"] == "Bakkerij De Vries B.V."
    assert lineage.fields["CONTACT.SRC_CODE"] == {
        "sources": ["source.CustomerNumber"],
        "transforms": ["truncate", "upper"],
        "rule": "override",
        "expression": "upper(truncate(source.CustomerNumber, 10))",
    }
    assert lineage.fields["CONTACT.ST_NR"]["sources"] == ["source.InvoiceAddress1"]
