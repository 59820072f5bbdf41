"""Redaction rules, as pure functions: personal fields and e-mail addresses go, the rest stays
(the fast paths for repeated field names and strings without an address change nothing)."""

from __future__ import annotations

from koppel.notifier.domain import REDACTED, redact_key, redact_payload, redact_text


def test_personal_fields_and_addresses_are_redacted_at_any_depth() -> None:
    payload = {
        "Number": 1042,
        "EmailAddress": "anna@example.nl",
        "DeliveryCity": "Utrecht",
        "PHONE": "",  # empty: nothing to hide, kept as it is
        "Note": "call anna@example.nl or piet@example.com, not support",
        "Plain": "no address here",
        7: "key that is not a string",
        "Rows": [
            {"ArticleNumber": "ART-0001", "Quantity": 2, "contact": None},
            ["x@y.nl", "ART-2"],
        ],
        "SO_HDR": {"MAIL_BUS": "a@b.nl", "ZIP_CODE": "1234 AB", "COMMENT1": "1042"},
    }
    for _ in range(2):  # the second pass runs on the cached field-name decisions
        assert redact_payload(payload) == {
            "Number": 1042,
            "EmailAddress": REDACTED,
            "DeliveryCity": REDACTED,
            "PHONE": "",
            "Note": f"call {REDACTED} or {REDACTED}, not support",
            "Plain": "no address here",
            7: "key that is not a string",
            "Rows": [
                {"ArticleNumber": "ART-0001", "Quantity": 2, "contact": None},
                [REDACTED, "ART-2"],
            ],
            "SO_HDR": {"MAIL_BUS": REDACTED, "ZIP_CODE": REDACTED, "COMMENT1": "1042"},
        }


def test_texts_and_keys() -> None:
    assert redact_text(None) is None
    assert redact_text("Debtor for a@b.nl created") == f"Debtor for {REDACTED} created"
    assert redact_text("an @ sign alone") == "an @ sign alone"
    assert redact_key("customer", "C-1") == REDACTED
    assert redact_key("order", "1042") == "1042"
    assert redact_key("order", "anna@example.nl") == REDACTED
    assert redact_key("product", None) is None
