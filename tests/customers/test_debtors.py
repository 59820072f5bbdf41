from __future__ import annotations

import pytest

from koppel.customers.debtors import Outcome, changed_fields, plan, shape_debtor
from koppel.customers.matching import check_email, normalise_email


class TestEmail:
    def test_is_trimmed_and_lower_cased(self) -> None:
        assert normalise_email("  Jan.Jansen@Example.NL ") == "jan.jansen@example.nl"

    @pytest.mark.parametrize("value", ["", None, "   "])
    def test_missing(self, value: str | None) -> None:
        assert check_email(value).problem == "missing_email"

    @pytest.mark.parametrize(
        "value", ["jan", "jan@", "jan@example", "a b@example.nl", "jan@@x.nl", "j..a@x.nl"]
    )
    def test_invalid(self, value: str) -> None:
        assert check_email(value).problem == "invalid_email"

    def test_too_long_for_accountview(self) -> None:
        assert check_email("x" * 45 + "@example.nl").problem == "invalid_email"


COMPANY = {
    "Name": "Bakkerij De Vries BV",
    "IsPrivatePerson": False,
    "ContactPersonName": "Anna de Vries",
    "ContactPersonEmail": "Anna@devries.nl",
}
PERSON = {"Name": "Piet Klaassen", "IsPrivatePerson": True}


class TestShapeDebtor:
    def test_a_company_gets_its_contact_person(self) -> None:
        debtor = shape_debtor(
            {"ADDRESS1": "Kerkstraat 1", "CNT_CODE": "nl"}, "info@devries.nl", COMPANY
        )
        assert debtor["ACCT_NAME"] == "Bakkerij De Vries BV"
        assert debtor["MAIN_CONT"] == "Anna de Vries"
        assert debtor["MC_MAILB"] == "anna@devries.nl"
        assert debtor["MAIL_BUS"] == "info@devries.nl"
        assert debtor["CNT_CODE"] == "NL"

    def test_a_person_has_no_contact_person(self) -> None:
        debtor = shape_debtor({"ACCT_NAME": "Piet Klaassen", "MAIN_CONT": "x"}, "piet@x.nl", PERSON)
        assert debtor["ACCT_NAME"] == "Piet Klaassen"
        assert "MAIN_CONT" not in debtor

    def test_without_the_source_a_contact_person_means_a_company(self) -> None:
        mapped = {"ACCT_NAME": "De Vries BV", "MAIN_CONT": "Anna", "MC_MAILB": "anna@x.nl"}
        debtor = shape_debtor(mapped, "info@x.nl", {})
        assert (debtor["ACCT_NAME"], debtor["MAIN_CONT"]) == ("De Vries BV", "Anna")
        assert "MAIN_CONT" not in shape_debtor({"ACCT_NAME": "Piet"}, "p@x.nl", {})


class TestPlan:
    wanted = {"ACCT_NAME": "Piet Klaassen", "CITY": "Utrecht", "MAIL_BUS": "piet@x.nl"}

    def test_default_debtor_creates_nothing(self) -> None:
        result = plan(
            email=check_email(""),
            wanted=self.wanted,
            existing=None,
            update_existing=True,
            default_debtor="D999",
        )
        assert (result.outcome, result.debtor_number) == (Outcome.default_debtor, "D999")

    def test_no_email_fails_with_a_reason(self) -> None:
        result = plan(
            email=check_email(""),
            wanted=self.wanted,
            existing=None,
            update_existing=True,
            default_debtor=None,
        )
        assert result.outcome is Outcome.fail
        assert result.reason_code == "missing_email"

    def test_not_found_is_created(self) -> None:
        result = plan(
            email=check_email("piet@x.nl"),
            wanted=self.wanted,
            existing=None,
            update_existing=False,
            default_debtor=None,
        )
        assert result.outcome is Outcome.create

    def test_update_writes_only_changed_fields(self) -> None:
        existing = {
            "SUB_NR": "10001",
            "ACCT_NAME": "Piet Klaassen",
            "CITY": "Amsterdam",
            "MAIL_BUS": "PIET@x.nl ",
        }
        result = plan(
            email=check_email("piet@x.nl"),
            wanted=self.wanted,
            existing=existing,
            update_existing=True,
            default_debtor=None,
        )
        assert result.outcome is Outcome.update
        assert result.fields == {"SUB_NR": "10001", "CITY": "Utrecht"}

    def test_update_off_uses_the_debtor_as_is(self) -> None:
        existing = {"SUB_NR": "10001", "CITY": "Amsterdam"}
        result = plan(
            email=check_email("piet@x.nl"),
            wanted=self.wanted,
            existing=existing,
            update_existing=False,
            default_debtor=None,
        )
        assert (result.outcome, result.debtor_number) == (Outcome.unchanged, "10001")

    def test_nothing_changed_is_unchanged(self) -> None:
        assert (
            changed_fields(
                {"CITY": "Utrecht", "CNT_CODE": "nl"}, {"CITY": " Utrecht", "CNT_CODE": "NL"}
            )
            == {}
        )
