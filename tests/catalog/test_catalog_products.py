"""The products flow end to end: AccountView sandbox → catalog → mapper → catalog →
eAccounting sandbox, counting what reached eAccounting in its request log."""

from __future__ import annotations

from typing import Any

from koppel.catalog.harness import Tenant
from koppel.common.events import ProductFilteredOut, ProductUpserted, UpsertOutcome
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
