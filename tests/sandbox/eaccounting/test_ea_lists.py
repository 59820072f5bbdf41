"""Paging envelope, $filter / $orderby and the 6000 QueryParameterError."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import asgi_client, make_app, mint


async def get_all(api: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    r = await api.get(path, params={"$pagesize": 1000, **params})
    assert r.status_code == 200, r.text
    return list(r.json()["Data"])


async def test_empty_list_has_zero_pages(api: httpx.AsyncClient) -> None:
    r = await api.get("/v2/customerinvoicedrafts")
    assert r.json()["Meta"]["TotalNumberOfPages"] == 0
    assert r.json()["Meta"]["TotalNumberOfResults"] == 0
    assert r.json()["Data"] == []


async def test_exactly_one_page_and_last_partial_page(api: httpx.AsyncClient) -> None:
    total = len(await get_all(api, "/v2/customers"))
    assert total == 20
    one = (await api.get("/v2/customers", params={"$pagesize": 20})).json()
    assert one["Meta"] == {**one["Meta"], "CurrentPage": 1, "PageSize": 20, "TotalNumberOfPages": 1}
    assert len(one["Data"]) == 20
    last = (await api.get("/v2/customers", params={"$pagesize": 7, "$page": 3})).json()
    assert last["Meta"]["TotalNumberOfPages"] == 3
    assert len(last["Data"]) == 6
    beyond = (await api.get("/v2/customers", params={"$pagesize": 7, "$page": 4})).json()
    assert beyond["Data"] == []
    default = (await api.get("/v2/orders")).json()
    assert default["Meta"]["PageSize"] == 50
    assert default["Meta"]["ServerTimeUtc"] == "2025-03-01T09:00:00Z"


async def test_pages_concatenate_to_the_whole_list(api: httpx.AsyncClient) -> None:
    everything = await get_all(api, "/v2/orders")
    paged: list[dict[str, Any]] = []
    for page in range(1, 6):
        paged += (await api.get("/v2/orders", params={"$pagesize": 9, "$page": page})).json()[
            "Data"
        ]
    assert [o["Id"] for o in paged] == [o["Id"] for o in everything]


@pytest.mark.parametrize(
    "params",
    [
        {"$pagesize": 1001},
        {"$pagesize": 0},
        {"$page": 0},
        {"$page": "x"},
        {"$filter": "Nope eq 1"},
        {"$filter": "Status eq"},
        {"$filter": "Status eq 1 and"},
        {"$filter": "(Status eq 1"},
        {"$filter": "Status == 1"},
        {"$orderby": "Nope asc"},
        {"$orderby": "Number sideways"},
        {"$filter": "ModifiedUtc gt 2024-13-45T00:00:00Z"},
    ],
)
async def test_bad_query_is_6000(api: httpx.AsyncClient, params: dict[str, Any]) -> None:
    r = await api.get("/v2/orders", params=params)
    assert r.status_code == 400
    body = r.json()
    assert body["ErrorCode"] == 6000
    assert set(body) == {"ErrorCode", "DeveloperErrorMessage", "ErrorId", "Errors"}


async def test_filters(api: httpx.AsyncClient) -> None:
    orders = await get_all(api, "/v2/orders")
    for status in (1, 2, 3, 4):
        assert any(o["Status"] == status for o in orders)
    ongoing = await get_all(api, "/v2/orders", **{"$filter": "Status eq 2"})
    assert {o["Id"] for o in ongoing} == {o["Id"] for o in orders if o["Status"] == 2}
    either = await get_all(
        api, "/v2/orders", **{"$filter": "(Status eq 2 or Status eq 3) and Amount ge 0"}
    )
    assert len(either) == sum(o["Status"] in (2, 3) for o in orders)
    not_draft = await get_all(api, "/v2/orders", **{"$filter": "Status ne 1"})
    assert len(not_draft) == sum(o["Status"] != 1 for o in orders)
    stamps = sorted(o["ModifiedUtc"] for o in orders)
    middle = stamps[len(stamps) // 2]
    newer = await get_all(api, "/v2/orders", **{"$filter": f"ModifiedUtc gt {middle}"})
    assert len(newer) == sum(s > middle for s in stamps)
    older = await get_all(api, "/v2/orders", **{"$filter": f"ModifiedUtc le {middle}"})
    assert len(newer) + len(older) == len(orders)
    number = orders[3]["Number"]
    assert [
        o["Id"] for o in await get_all(api, "/v2/orders", **{"$filter": f"Number eq {number}"})
    ] == [orders[3]["Id"]]
    customers = await get_all(api, "/v2/customers")
    email = customers[5]["EmailAddress"]
    found = await get_all(api, "/v2/customers", **{"$filter": f"EmailAddress eq '{email}'"})
    assert [c["Id"] for c in found] == [customers[5]["Id"]]
    changed = sorted(c["ChangedUtc"] for c in customers)[10]
    since = await get_all(api, "/v2/customers", **{"$filter": f"ChangedUtc ge {changed}"})
    assert len(since) == 10
    by_date = await get_all(api, "/v2/customers", **{"$filter": "ChangedUtc lt 2000-01-01"})
    assert by_date == []
    legacy = await get_all(
        api, "/v2/articles", **{"$filter": "startswith(Number,'ART-') and IsActive eq true"}
    )
    assert all(a["Number"].startswith("ART-") and a["IsActive"] for a in legacy)
    quoted = await get_all(api, "/v2/customers", **{"$filter": "Name eq 'O''Brien'"})
    assert quoted == []


async def test_orderby(api: httpx.AsyncClient) -> None:
    by_name = await get_all(api, "/v2/customers", **{"$orderby": "Name desc, CustomerNumber"})
    names = [c["Name"].lower() for c in by_name]
    assert names == sorted(names, reverse=True)
    by_number = await get_all(api, "/v2/orders", **{"$orderby": "Number desc"})
    assert [o["Number"] for o in by_number] == sorted(
        (o["Number"] for o in by_number), reverse=True
    )


async def test_modified_since_on_invoices(api: httpx.AsyncClient) -> None:
    invoices = await get_all(api, "/v2/customerinvoices")
    pivot = sorted(i["ModifiedUtc"] for i in invoices)[0]
    later = await get_all(api, "/v2/customerinvoices", modifiedSinceUtc=pivot)
    assert len(later) == sum(i["ModifiedUtc"] > pivot for i in invoices)


async def test_page_size_max_is_configurable() -> None:
    app = make_app(max_page_size=10)
    async with asgi_client(app, (await mint(app))["access_token"]) as c:
        assert (await c.get("/v2/orders", params={"$pagesize": 11})).status_code == 400
        assert (await c.get("/v2/orders", params={"$pagesize": 10})).status_code == 200
