"""The journey's "fix the value map" link: map and key from the mapper's failure details."""

from __future__ import annotations

from koppel.gateway.web.views import value_map_fix

REASON = "Customer 'Erik': no AccountView VAT code is mapped for country SE — add it to value map 'vat_codes'"


def test_unmapped_value_with_details_names_map_and_key() -> None:
    failed = {
        "reason_code": "unmapped_value",
        "reason": REASON,
        "details": {"map_name": "vat_codes", "value": "SE", "record": "Customer 'Erik'"},
    }
    assert value_map_fix(failed) == ("vat_codes", "SE")


def test_without_details_only_the_map_named_in_the_reason() -> None:
    assert value_map_fix({"reason_code": "unmapped_value", "reason": REASON}) == ("vat_codes", "")


def test_other_failures_and_odd_names_give_no_link() -> None:
    assert value_map_fix(None) is None
    assert value_map_fix({"reason_code": "validation_failed", "reason": REASON}) is None
    odd = {"reason_code": "unmapped_value", "details": {"map_name": "../x", "value": "SE"}}
    assert value_map_fix(odd) is None
