"""The stock flow end to end: formula per tenant, only changes pushed, the stock module."""

from __future__ import annotations

from koppel.common.events import StockFailed, StockLevelChanged, StockUpdated
from koppel.common.messages import Flow

from .conftest import HarnessFactory, tenant
from .test_catalog_products import av_articles, ea_articles, writes


def av_article(t, code: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return next(a for a in av_articles(t) if a["ART_CODE"] == code)


async def test_default_formula_pushes_available_minus_reservations_and_then_only_changes(
    start_harness: HarnessFactory,
) -> None:
    t = tenant(articles=30)
    h = await start_harness(t)
    await h.run(t.tenant_id, Flow.products)
    code = sorted(ea_articles(t))[0]
    await t.accountview.call("POST", f"/_sandbox/articles/{code}", json={"reserved": 2})

    first = await h.run(t.tenant_id, Flow.stock)

    updated = [e for e in h.of_run(first) if isinstance(e, StockUpdated)]
    assert {e.entity.key for e in updated} == set(ea_articles(t))
    tech = float(av_article(t, code)["QTY_TECH"])
    assert ea_articles(t)[code]["StockBalance"] == max(tech - 2, 0)
    assert all(a["IsStock"] for a in ea_articles(t).values())

    # Nothing moved: nothing pushed
    t.eaccounting.handles.requests.clear()
    quiet = await h.run(t.tenant_id, Flow.stock)
    assert h.kinds(quiet)["StockLevelChanged"] == 0
    assert t.eaccounting.handles.requests.summary()["total"] == 0

    # One reservation more: one push, with the previous value
    await t.accountview.call("POST", f"/_sandbox/articles/{code}", json={"reserved": 3})
    moved = await h.run(t.tenant_id, Flow.stock)
    changes = [e for e in h.of_run(moved) if isinstance(e, StockLevelChanged)]
    assert [(e.entity.key, e.quantity, e.previous) for e in changes] == [
        (code, max(tech - 3, 0), max(tech - 2, 0))
    ]
    assert writes(t)["PUT"] == 1
    assert ea_articles(t)[code]["StockBalance"] == max(tech - 3, 0)


async def test_the_formula_and_its_fields_are_the_tenants_choice(
    start_harness: HarnessFactory,
) -> None:
    t = tenant(articles=20, settings={"stock": {"formula": "on_hand"}})
    h = await start_harness(t)
    await h.run(t.tenant_id, Flow.products)
    code = sorted(ea_articles(t))[0]
    await t.accountview.call(
        "POST", f"/_sandbox/articles/{code}", json={"reserved": 1, "on_order": 7}
    )
    tech = float(av_article(t, code)["QTY_TECH"])

    await h.run(t.tenant_id, Flow.stock)
    assert ea_articles(t)[code]["StockBalance"] == tech

    t.settings["stock"] = {"formula": "available_minus_reservations"}
    switched = await h.run(t.tenant_id, Flow.stock)
    assert [e.entity.key for e in h.of_run(switched) if isinstance(e, StockLevelChanged)] == [code]
    assert ea_articles(t)[code]["StockBalance"] == max(tech - 1, 0)

    # The field behind an input is configurable too: "available" read from QTY_BESTEL
    t.settings["stock"] = {"formula": "available", "field_overrides": {"available": "QTY_BESTEL"}}
    await h.run(t.tenant_id, Flow.stock)
    assert ea_articles(t)[code]["StockBalance"] == 7


async def test_manage_stock_off_makes_plain_articles_and_pushes_no_stock(
    start_harness: HarnessFactory,
) -> None:
    t = tenant(articles=10, settings={"stock": {"manage_stock": False}})
    h = await start_harness(t)
    await h.run(t.tenant_id, Flow.products)

    run = await h.run(t.tenant_id, Flow.stock)

    assert h.kinds(run)["StockLevelChanged"] == 0
    assert ea_articles(t)
    assert not any(a["IsStock"] for a in ea_articles(t).values())


async def test_stock_module_on_fails_each_change_permanently_with_a_clear_reason(
    start_harness: HarnessFactory,
) -> None:
    t = tenant(articles=20, stock_module=True)
    h = await start_harness(t)
    await h.run(t.tenant_id, Flow.products)
    t.eaccounting.handles.requests.clear()

    run = await h.run(t.tenant_id, Flow.stock)

    failed = [e for e in h.of_run(run) if isinstance(e, StockFailed)]
    assert len(failed) == len(ea_articles(t))
    assert {e.reason_code for e in failed} == {"stock_module_active"}
    assert "stock module" in failed[0].reason
    assert writes(t)["PUT"] == 0
    assert h.kinds(run)["StockUpdated"] == 0
    assert await h.bus.dead_letters("catalog") == []


async def test_stock_module_refusal_of_a_put_is_recognised(start_harness: HarnessFactory) -> None:
    # The article is no stock article yet (ShowStockInformation false), so only the PUT's
    # refusal can tell that the module is on.
    t = tenant(articles=5, settings={"stock": {"manage_stock": False}})
    h = await start_harness(t)
    await h.run(t.tenant_id, Flow.products)
    await t.eaccounting.call("POST", "/_sandbox/company", json={"stock_module": True})
    t.settings["stock"] = {"manage_stock": True}

    run = await h.run(t.tenant_id, Flow.stock)

    failed = [e for e in h.of_run(run) if isinstance(e, StockFailed)]
    assert failed
    assert {e.reason_code for e in failed} == {"stock_module_active"}
