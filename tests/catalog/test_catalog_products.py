"""The products flow end to end: AccountView sandbox → catalog → mapper → catalog →
eAccounting sandbox, counting what reached eAccounting in its request log."""

from __future__ import annotations

from typing import Any

from koppel.catalog.harness import Tenant
from koppel.common.events import (
    ProductDeactivated,
    ProductFilteredOut,
    ProductUpserted,
    UpsertOutcome,
)
from koppel.common.messages import Flow

from .conftest import HarnessFactory, tenant


def writes(t: Tenant) -> dict[str, int]:
    log = t.eaccounting.handles.requests
    return {
        "POST": log.count("POST", "/v2/articles"),
        "PUT": log.count("PUT", "/v2/articles/{articleId}"),
    }


def ea_articles(t: Tenant) -> dict[str, dict[str, Any]]:
    return {a["Number"]: a for a in t.eaccounting.handles.store.all("articles")}


def av_articles(t: Tenant) -> list[dict[str, Any]]:
    rows = t.accountview.handles
    company = next(iter(rows.state.companies.values()))
    return list(company.tables["ARTICLE"].rows.values())


async def test_initial_sync_creates_every_article_that_syncs(start_harness: HarnessFactory) -> None:
    # Given a seeded AccountView catalogue and an empty eAccounting company
    t = tenant(articles=60)
    h = await start_harness(t)
    active = {str(a["ART_CODE"]) for a in av_articles(t) if not a["REC_BLK"]}

    # When the products flow runs
    run = await h.run(t.tenant_id, Flow.products)

    # Then every active article exists in eAccounting, each created once
    kinds = h.kinds(run)
    assert kinds["FlowRunFetched"] == 1
    assert kinds["ProductFailed"] == 0, [
        e for e in h.of_run(run) if type(e).__name__ == "ProductFailed"
    ]
    upserted = [e for e in h.of_run(run) if isinstance(e, ProductUpserted)]
    assert {e.entity.key for e in upserted} == active
    assert {e.outcome for e in upserted} == {UpsertOutcome.created}
    assert set(ea_articles(t)) == active
    assert writes(t) == {"POST": len(active), "PUT": 0}
    blocked = [e for e in h.of_run(run) if isinstance(e, ProductFilteredOut)]
    assert all(e.filter_name == "blocked" for e in blocked)


async def test_rerun_without_changes_calls_eaccounting_not_at_all(
    start_harness: HarnessFactory,
) -> None:
    t = tenant(articles=60)
    h = await start_harness(t)
    await h.run(t.tenant_id, Flow.products)
    t.eaccounting.handles.requests.clear()

    # When: an incremental run and a full sweep with nothing changed in AccountView
    incremental = await h.run(t.tenant_id, Flow.products)
    sweep = await h.run(t.tenant_id, Flow.products, full_sweep=True)

    # Then: the incremental run fetched nothing; the sweep found every article unchanged
    assert h.kinds(incremental)["ProductFetched"] == 0
    outcomes = {e.outcome for e in h.of_run(sweep) if isinstance(e, ProductUpserted)}
    assert outcomes == {UpsertOutcome.unchanged}
    assert t.eaccounting.handles.requests.summary()["total"] == 0


async def test_run_after_changing_one_percent_writes_only_those(
    start_harness: HarnessFactory,
) -> None:
    t = tenant(articles=200)
    h = await start_harness(t)
    await h.run(t.tenant_id, Flow.products)
    t.eaccounting.handles.requests.clear()
    changed = sorted(str(a["ART_CODE"]) for a in av_articles(t) if not a["REC_BLK"])[:2]
    for code in changed:
        await t.accountview.call("POST", f"/_sandbox/articles/{code}", json={"price": 12.34})

    run = await h.run(t.tenant_id, Flow.products)

    upserted = [e for e in h.of_run(run) if isinstance(e, ProductUpserted)]
    assert sorted(e.entity.key or "" for e in upserted) == changed
    assert {e.outcome for e in upserted} == {UpsertOutcome.updated}
    assert writes(t) == {"POST": 0, "PUT": 2}
    assert {ea_articles(t)[c]["NetPrice"] for c in changed} == {12.34}


async def test_update_checkbox_off_keeps_an_eaccounting_edit_of_a_protected_field(
    start_harness: HarnessFactory,
) -> None:
    # Given an article synced, then renamed by hand in eAccounting
    t = tenant(articles=20, settings={"products": {"update_product_information": False}})
    h = await start_harness(t)
    await h.run(t.tenant_id, Flow.products)
    code = sorted(str(a["ART_CODE"]) for a in av_articles(t) if not a["REC_BLK"])[0]
    ea_articles(t)[code]["Name"] = "Enriched in eAccounting"

    # When AccountView changes its description and its price
    await t.accountview.call(
        "POST", f"/_sandbox/articles/{code}", json={"description": "New AV name", "price": 9.5}
    )
    await h.run(t.tenant_id, Flow.products)

    # Then the price follows AccountView but the hand-made name stays
    assert ea_articles(t)[code]["NetPrice"] == 9.5
    assert ea_articles(t)[code]["Name"] == "Enriched in eAccounting"

    # And with the box ticked, an update overwrites it
    t.settings["products"]["update_product_information"] = True
    await t.accountview.call("POST", f"/_sandbox/articles/{code}", json={"price": 9.75})
    await h.run(t.tenant_id, Flow.products)
    assert ea_articles(t)[code]["Name"] == "New AV name"


async def test_a_description_change_alone_is_no_update_while_the_name_is_protected(
    start_harness: HarnessFactory,
) -> None:
    t = tenant(articles=20)
    h = await start_harness(t)
    await h.run(t.tenant_id, Flow.products)
    t.eaccounting.handles.requests.clear()
    code = sorted(str(a["ART_CODE"]) for a in av_articles(t) if not a["REC_BLK"])[0]
    await t.accountview.call("POST", f"/_sandbox/articles/{code}", json={"description": "X"})

    run = await h.run(t.tenant_id, Flow.products)

    outcomes = [e.outcome for e in h.of_run(run) if isinstance(e, ProductUpserted)]
    assert outcomes == [UpsertOutcome.unchanged]
    assert t.eaccounting.handles.requests.summary()["total"] == 0


async def test_filters_decide_which_articles_sync_and_the_log_names_the_filter(
    start_harness: HarnessFactory,
) -> None:
    t = tenant(articles=60)
    groups = sorted({str(a["AG_CODE"]) for a in av_articles(t) if not a["REC_BLK"]})
    wanted = groups[0]
    t.settings["products"] = {
        "filters": [{"field": "AG_CODE", "operator": "in", "value": [wanted]}]
    }
    h = await start_harness(t)

    run = await h.run(t.tenant_id, Flow.products)

    expected = {
        str(a["ART_CODE"]) for a in av_articles(t) if not a["REC_BLK"] and a["AG_CODE"] == wanted
    }
    assert expected
    assert set(ea_articles(t)) == expected
    left_out = [e for e in h.of_run(run) if isinstance(e, ProductFilteredOut)]
    by_filter = [e for e in left_out if e.filter_name != "blocked"]
    assert by_filter
    assert all("AG_CODE" in e.filter_name for e in by_filter)
    assert all(wanted in e.reason or "AG_CODE" in e.reason for e in by_filter)


async def test_blocked_and_deleted_articles_are_deactivated_in_eaccounting(
    start_harness: HarnessFactory,
) -> None:
    t = tenant(articles=30)
    h = await start_harness(t)
    await h.run(t.tenant_id, Flow.products)
    blocked, deleted = sorted(str(a["ART_CODE"]) for a in av_articles(t) if not a["REC_BLK"])[:2]

    # A blocked article is seen by the next incremental run
    await t.accountview.call("POST", f"/_sandbox/articles/{blocked}", json={"blocked": True})
    run = await h.run(t.tenant_id, Flow.products)
    assert [e.entity.key for e in h.of_run(run) if isinstance(e, ProductDeactivated)] == [blocked]
    assert ea_articles(t)[blocked]["IsActive"] is False

    # A deleted one only by a full sweep (AccountView has no tombstones)
    await t.accountview.call("DELETE", f"/_sandbox/articles/{deleted}")
    incremental = await h.run(t.tenant_id, Flow.products)
    assert h.kinds(incremental)["ProductDeactivated"] == 0
    sweep = await h.run(t.tenant_id, Flow.products, full_sweep=True)
    assert [e.entity.key for e in h.of_run(sweep) if isinstance(e, ProductDeactivated)] == [deleted]
    assert ea_articles(t)[deleted]["IsActive"] is False
    # Already inactive: the next sweep leaves both alone
    t.eaccounting.handles.requests.clear()
    again = await h.run(t.tenant_id, Flow.products, full_sweep=True)
    assert h.kinds(again)["ProductDeactivated"] == 0
    assert writes(t) == {"POST": 0, "PUT": 0}

    # Unblocked again: the article comes back active
    await t.accountview.call("POST", f"/_sandbox/articles/{blocked}", json={"blocked": False})
    await h.run(t.tenant_id, Flow.products)
    assert ea_articles(t)[blocked]["IsActive"] is True


async def test_an_article_created_before_a_crash_is_found_not_created_again(
    start_harness: HarnessFactory,
) -> None:
    # Given an article that reached eAccounting while its link was never committed
    t = tenant(articles=20)
    h = await start_harness(t)
    code = sorted(str(a["ART_CODE"]) for a in av_articles(t) if not a["REC_BLK"])[0]
    ids = t.lookups()
    await t.eaccounting.call(
        "POST",
        "/_sandbox/articles",
        json={
            "Number": code,
            "Name": "made before the crash",
            "IsActive": True,
            "CodingId": ids["codings"]["21"],
            "UnitId": ids["units"]["st"],
        },
    )

    run = await h.run(t.tenant_id, Flow.products)

    numbers = [a["Number"] for a in t.eaccounting.handles.store.all("articles")]
    assert numbers.count(code) == 1
    outcome = next(
        e.outcome for e in h.of_run(run) if isinstance(e, ProductUpserted) and e.entity.key == code
    )
    assert outcome is UpsertOutcome.updated


async def test_a_lost_create_answer_does_not_duplicate_the_article(
    start_harness: HarnessFactory,
) -> None:
    # eAccounting commits every POST and then answers 500: the client cannot know
    t = tenant(articles=10)
    h = await start_harness(t)
    await t.eaccounting.call("POST", "/_sandbox/faults", json={"error_5xx_after_write": 1.0})

    run = await h.run(t.tenant_id, Flow.products)

    numbers = [a["Number"] for a in t.eaccounting.handles.store.all("articles")]
    assert len(numbers) == len(set(numbers)) > 0
    assert h.kinds(run)["ProductFailed"] == 0


async def test_a_failed_read_fails_the_run_and_keeps_the_cursor(
    start_harness: HarnessFactory,
) -> None:
    t = tenant(articles=20)
    h = await start_harness(t)
    await h.run(t.tenant_id, Flow.products)
    code = sorted(str(a["ART_CODE"]) for a in av_articles(t) if not a["REC_BLK"])[0]
    await t.accountview.call("POST", f"/_sandbox/articles/{code}", json={"price": 3.21})
    await t.accountview.call("POST", "/_sandbox/faults", json={"unreachable": True})

    failed = await h.run(t.tenant_id, Flow.products)
    assert h.kinds(failed)["FlowRunFailed"] == 1
    assert h.kinds(failed)["ProductFetched"] == 0

    await t.accountview.call("POST", "/_sandbox/faults", json={"unreachable": False})
    again = await h.run(t.tenant_id, Flow.products)
    assert [e.entity.key for e in h.of_run(again) if isinstance(e, ProductUpserted)] == [code]


async def test_a_redelivered_product_mapped_is_handled_once(start_harness: HarnessFactory) -> None:
    from koppel.common.bus.base import Delivery
    from koppel.common.events import EntityRef, EntityType, ProductMapped

    t = tenant(articles=5)
    h = await start_harness(t)
    ids = t.lookups()
    message = ProductMapped(
        tenant_id=t.tenant_id,
        flow=Flow.products,
        entity=EntityRef(type=EntityType.product, source_id="NEW-1", key="NEW-1"),
        target={
            "Number": "NEW-1",
            "Name": "New",
            "IsActive": True,
            "NetPrice": 5.0,
            "CodingId": ids["codings"]["21"],
            "UnitId": ids["units"]["st"],
        },
    )
    assert h.catalog is not None
    binding = next(b for b in h.catalog.bindings if b.name == "product_mapped")
    for attempt in (1, 2):
        await h.catalog.deliver(binding, message, Delivery(attempt, attempt > 1, "x"))

    assert writes(t) == {"POST": 1, "PUT": 0}
    assert [a["Number"] for a in t.eaccounting.handles.store.all("articles")] == ["NEW-1"]


async def test_a_full_sweep_runs_again_once_its_interval_has_passed(
    start_harness: HarnessFactory,
) -> None:
    from datetime import timedelta

    from koppel.catalog.models import CatalogCursor
    from koppel.common.messages import utcnow

    t = tenant(articles=20, settings={"products": {"full_sweep_interval": 300}})
    h = await start_harness(t)
    first = await h.run(t.tenant_id, Flow.products)
    swept = h.kinds(first)["ProductFetched"]
    assert h.kinds(await h.run(t.tenant_id, Flow.products))["ProductFetched"] == 0

    # When the last sweep is longer ago than the interval
    assert h.catalog is not None
    async with h.catalog.context.unit_of_work() as uow:
        row = await uow.session.get(CatalogCursor, (t.tenant_id, "products"))
        assert row is not None
        row.last_full_sweep_at = utcnow() - timedelta(seconds=301)
        uow.add(row)
        await uow.commit()

    # Then the next run reads everything again (and finds it unchanged)
    again = await h.run(t.tenant_id, Flow.products)
    assert h.kinds(again)["ProductFetched"] == swept
    outcomes = {e.outcome for e in h.of_run(again) if isinstance(e, ProductUpserted)}
    assert outcomes == {UpsertOutcome.unchanged}


async def test_a_dry_run_counts_but_writes_nothing_and_keeps_the_cursor(
    start_harness: HarnessFactory,
) -> None:
    from koppel.common.events import FlowRunFetched

    t = tenant(articles=20)
    h = await start_harness(t)

    dry = await h.run(t.tenant_id, Flow.products, dry_run=True)

    fetched = next(e for e in h.of_run(dry) if isinstance(e, FlowRunFetched))
    assert fetched.fetched > 0
    assert fetched.cursor is None
    assert h.kinds(dry)["ProductFetched"] == 0
    assert t.eaccounting.handles.requests.summary()["total"] == 0
    real = await h.run(t.tenant_id, Flow.products)
    assert h.kinds(real)["ProductUpserted"] == fetched.fetched


async def test_match_by_ean_links_an_article_with_another_number(
    start_harness: HarnessFactory,
) -> None:
    # Given an eAccounting article with its own number but the AccountView article's EAN
    t = tenant(articles=10, settings={"products": {"match_by": "sku_then_ean"}})
    h = await start_harness(t)
    article = next(a for a in av_articles(t) if not a["REC_BLK"] and a.get("BAR_CODE"))
    ids = t.lookups()
    await t.eaccounting.call(
        "POST",
        "/_sandbox/articles",
        json={
            "Number": "SHOP-OWN-1",
            "Name": "their own",
            "IsActive": True,
            "CodingId": ids["codings"]["21"],
            "UnitId": ids["units"]["st"],
            "Barcodes": [{"Barcode": article["BAR_CODE"], "BarcodeType": 0}],
        },
    )

    await h.run(t.tenant_id, Flow.products)

    # Then it is updated in place: no second article, its own number kept
    numbers = set(ea_articles(t))
    assert "SHOP-OWN-1" in numbers
    assert article["ART_CODE"] not in numbers
