"""What alerts say per reason code, in both languages, and the pure rules behind folding,
backoff and silent flows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from koppel.notifier.alerts.domain import (
    AlertDraft,
    expected_interval,
    fold,
    is_silent,
    retry_delay,
)
from koppel.notifier.alerts.texts import render, what_to_do

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def draft(code: str, **details: object) -> AlertDraft:
    return AlertDraft(
        kind="failure",
        reason_code=code,
        reason="why",
        flow="orders",
        step="sync",
        entity_type="order",
        entity_key="1042",
        correlation_id="c0ffee",
        details=dict(details),
    )


@pytest.mark.parametrize(
    ("code", "details", "en", "nl"),
    [
        (
            "unmapped_value",
            {"map_name": "vat_codes", "value": "H21", "country": "BE"},
            "Map VAT code 'H21' for country BE in value map vat_codes",
            "Koppel btw-code 'H21' voor land BE in waardetabel vat_codes",
        ),
        (
            "unmapped_value",
            {"map_name": "payment_methods", "value": "ideal"},
            "Map value 'ideal' in value map payment_methods",
            "Koppel waarde 'ideal' in waardetabel payment_methods",
        ),
        (
            "missing_products",
            {"missing_skus": ["A-1", "B-2"]},
            "Create article(s) A-1, B-2 in AccountView",
            "Maak artikel(en) A-1, B-2 aan in AccountView",
        ),
        (
            "needs_consent",
            {"system": "eaccounting"},
            "consent for eaccounting",
            "toestemming voor eaccounting",
        ),
        ("invalid_email", {}, "Correct the customer's e-mail address", "Corrigeer het e-mailadres"),
        (
            "stock_module_on",
            {},
            "Turn the stock module off",
            "Zet in eAccounting de voorraadmodule uit",
        ),
        (
            "rate_limited",
            {},
            "Koppel waits and tries again",
            "Koppel wacht en probeert het vanzelf",
        ),
        ("something_new", {}, "Look at the details in the activity log", "Bekijk de details"),
    ],
)
def test_every_reason_code_says_what_to_do_in_both_languages(
    code: str, details: dict[str, object], en: str, nl: str
) -> None:
    assert en in what_to_do(draft(code, **details), "en")
    assert nl in what_to_do(draft(code, **details), "nl")


def test_an_alert_names_the_record_the_reason_and_the_link_and_counts_folded_ones() -> None:
    rendered = render(draft("invalid_email"), "nl", "https://x.test/", folded=37, folded_since=NOW)
    assert rendered.subject == "[Koppel] Order 1042 is mislukt"
    assert "Waarom: why" in rendered.text
    assert "Details: https://x.test/app/activity/c0ffee" in rendered.text
    assert "En nog 37 meldingen zoals deze sinds 2026-11-25 09:00 UTC." in rendered.text
    unknown_language = render(draft("invalid_email"), "fr", "https://x.test")
    assert unknown_language.subject == rendered.subject  # falls back to Dutch


def test_fold_backoff_and_silence_rules() -> None:
    window = timedelta(minutes=15)
    assert fold(None, 0, NOW, window).send
    assert not fold(NOW, 3, NOW + timedelta(minutes=14), window).send
    later = fold(NOW, 3, NOW + timedelta(minutes=15), window)
    assert later.send and later.folded_before == 3
    assert [retry_delay(n, (5.0, 30.0), 0.5) for n in (1, 2, 3)] == [2.5, 15.0, None]
    assert expected_interval({"interval_seconds": 300}, NOW) == timedelta(minutes=5)
    assert expected_interval({"cron": "0 */2 * * *"}, NOW) == timedelta(hours=2)
    assert expected_interval(None, NOW) is None
    five = timedelta(minutes=5)
    assert not is_silent(NOW, None, five, 3, NOW + timedelta(minutes=15))
    assert is_silent(NOW, None, five, 3, NOW + timedelta(minutes=16))
    assert not is_silent(NOW, NOW + timedelta(minutes=16), five, 3, NOW + timedelta(hours=1))
