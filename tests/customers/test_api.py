"""The internal routes of both services answer with the links (service token required)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from koppel.common.problems import install_problem_handlers
from koppel.common.settings import DEV_SERVICE_TOKEN
from koppel.orders.embedded import World, WorldOptions

AUTH = {"Authorization": f"Bearer {DEV_SERVICE_TOKEN}"}


async def test_links_are_listed_per_tenant() -> None:
    async with World(WorldOptions(orders=20, customers=10)) as world:
        result = await world.run_orders()
        # orders the mapper refused never reach the orders service, so they have no link
        linked = len(result.synced) + len([f for f in result.failed if f.step != "map"])
        for name, expected in (
            ("orders", linked),
            ("customers", None),
        ):
            runtime = world.runtime(name)
            app = FastAPI()
            install_problem_handlers(app)
            for router in runtime.routers():
                app.include_router(router)
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://svc"
            ) as client:
                denied = await client.get(f"/internal/{name}/tenants/acme/links")
                assert denied.status_code == 401
                response = await client.get(f"/internal/{name}/tenants/acme/links", headers=AUTH)
                assert response.status_code == 200
                rows = response.json()
                assert rows
                if expected is not None:
                    assert len(rows) == expected
                other = await client.get(f"/internal/{name}/tenants/other/links", headers=AUTH)
                assert other.json() == []
