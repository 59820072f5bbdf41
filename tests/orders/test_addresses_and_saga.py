from __future__ import annotations

from koppel.orders.addresses import DeliveryAddress, find_address, normalise_postcode
from koppel.orders.saga import (
    Action,
    SagaState,
    missing_products_reason,
    missing_skus,
    on_customer_answer,
    on_order_mapped,
)


class TestDeliveryAddress:
    def test_dutch_postcodes_are_written_the_accountview_way(self) -> None:
        assert normalise_postcode("1234ab", "NL") == "1234 AB"
        assert normalise_postcode(" 1234  ab ", "") == "1234 AB"
        assert normalise_postcode("114 55", "SE") == "114 55"

    def test_the_same_door_matches_whatever_the_spelling(self) -> None:
        existing = [
            {
                "REC_ID": 7,
                "DEL_NAME": "Jan",
                "ADDRESS1": "Kerkstraat 1",
                "POST_CODE": "1234 AB",
                "CITY": "Utrecht",
                "CNT_CODE": "NL",
            },
            {
                "REC_ID": 8,
                "DEL_NAME": "Jan",
                "ADDRESS1": "Dorpsweg 2",
                "POST_CODE": "1234 AB",
                "CITY": "Utrecht",
                "CNT_CODE": "NL",
            },
        ]
        wanted = DeliveryAddress.from_row(
            {
                "DEL_NAME": "J. Jansen",
                "ADDRESS1": " kerkstraat  1",
                "POST_CODE": "1234ab",
                "CITY": "UTRECHT",
                "CNT_CODE": "nl",
            }
        )
        assert find_address(existing, wanted) == "7"

    def test_another_country_is_another_address(self) -> None:
        existing = [
            {
                "REC_ID": 1,
                "ADDRESS1": "Main 1",
                "POST_CODE": "0150",
                "CITY": "Oslo",
                "CNT_CODE": "NO",
            }
        ]
        wanted = DeliveryAddress.from_row(
            {"ADDRESS1": "Main 1", "POST_CODE": "0150", "CITY": "Oslo", "CNT_CODE": "SE"}
        )
        assert find_address(existing, wanted) is None


class TestSaga:
    def test_an_order_already_in_accountview_is_skipped(self) -> None:
        decision = on_order_mapped(
            saga_state=None, linked_number=None, found_number="SO-12", dry_run=False
        )
        assert decision.action is Action.skip
        assert decision.target_number == "SO-12"

    def test_a_linked_order_is_skipped_without_asking_accountview_again(self) -> None:
        decision = on_order_mapped(
            saga_state=None, linked_number="SO-3", found_number=None, dry_run=False
        )
        assert decision.action is Action.skip

    def test_a_new_order_asks_for_its_customer(self) -> None:
        decision = on_order_mapped(
            saga_state=None, linked_number=None, found_number=None, dry_run=False
        )
        assert decision.action is Action.ensure_customer

    def test_a_dry_run_writes_nothing(self) -> None:
        decision = on_order_mapped(
            saga_state=None, linked_number=None, found_number=None, dry_run=True
        )
        assert decision.action is Action.dry_run

    def test_a_redelivered_order_mapped_is_ignored(self) -> None:
        for state in SagaState:
            decision = on_order_mapped(
                saga_state=state, linked_number=None, found_number=None, dry_run=False
            )
            assert decision.action is Action.ignore

    def test_only_a_waiting_saga_moves_on_a_customer_answer(self) -> None:
        assert on_customer_answer(saga_state=SagaState.awaiting_customer).action is Action.create
        assert on_customer_answer(saga_state=SagaState.synced).action is Action.ignore
        assert on_customer_answer(saga_state=None).action is Action.ignore

    def test_missing_skus_are_listed_once_in_order(self) -> None:
        assert missing_skus(["ART-1", "x-9", "ART-2", "X-9"], ["art-1 ", "ART-2"]) == ["x-9"]
        assert missing_products_reason(["A", "B"]).endswith("AccountView: A, B.")
