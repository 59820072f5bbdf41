"""AccountView-specific admin endpoints under /_sandbox (the shared ones come from common)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict

from koppel.sandbox.accountview.errors import AccountViewError
from koppel.sandbox.accountview.query import render_record, table_fields
from koppel.sandbox.accountview.runtime import Runtime
from koppel.sandbox.accountview.settings import Knobs, SeedSpec
from koppel.sandbox.accountview.stock import RESERVED, article_view, move, quantities
from koppel.sandbox.accountview.store import Company, new_record, stamp_update
from koppel.sandbox.accountview.values import coerce
from koppel.sandbox.common import ADMIN_PREFIX
from koppel.sandbox.common.admin import clock_view


class ArticleChange(BaseModel):
    """Direct changes to an article, as if someone worked in AccountView itself."""

    model_config = ConfigDict(extra="forbid")

    description: str | None = None
    price: float | None = None
    blocked: bool | None = None
    ean: str | None = None
    qty_tech: float | None = None  # set the technical stock
    qty_tech_delta: float | None = None  # or move it
    on_order: float | None = None
    reserved: float | None = None  # set the reserved quantity (order lines add to it)


class RecordInsert(BaseModel):
    model_config = ConfigDict(extra="forbid")

    values: dict[str, Any]


def _company(runtime: Runtime, ident: str | None) -> Company:
    company = runtime.state.company(ident) if ident else runtime.state.first()
    if company is None:
        raise HTTPException(404, f"unknown company {ident}")
    return company


def _view(runtime: Runtime, company: Company, table: str, rec: dict[str, Any]) -> dict[str, Any]:
    view = article_view(rec, runtime.knobs) if table == "ARTICLE" else rec
    item = render_record(
        view, table_fields(company, table, runtime.knobs), None, table, 0, runtime.knobs
    )
    item.pop(f"{table}_Id")
    if table == "ARTICLE":
        item["_RESERVED"] = quantities(rec)[1]
    return item


def sandbox_router(runtime: Runtime) -> APIRouter:
    r = APIRouter(prefix=ADMIN_PREFIX, tags=["sandbox admin"])

    @r.post("/reset")
    async def reset(spec: SeedSpec | None = None) -> dict[str, Any]:
        runtime.reset(spec or runtime.settings.seed)
        return {"seed": runtime.seed_spec.model_dump(), "companies": _counts(runtime)}

    @r.get("/state")
    async def state(company: str | None = None, table: str | None = None) -> dict[str, Any]:
        chosen = [_company(runtime, company)] if company else list(runtime.state.companies.values())
        out = []
        for c in chosen:
            names = [table.upper()] if table else list(c.tables)
            tables = {
                n: [_view(runtime, c, n, rec) for rec in c.tables[n].rows.values()]
                for n in names
                if n in c.tables
            }
            out.append({**c.summary(), "counters": dict(c.counters), "tables": tables})
        return {
            "companies": out,
            "knobs": runtime.knobs.model_dump(),
            "seed": runtime.seed_spec.model_dump(),
            "tokens": runtime.tokens.counts(),
            "clock": clock_view(runtime.clock),
            "local_now": runtime.now().isoformat(),
        }

    @r.get("/requests", operation_id="accountview_requests")
    async def requests(limit: int | None = None) -> dict[str, Any]:
        summary = runtime.requests.summary(limit=limit)
        summary["by_business_object"] = dict(sorted(runtime.by_business_object.items()))
        return summary

    @r.delete("/requests", operation_id="accountview_clear_requests")
    async def clear_requests() -> dict[str, Any]:
        runtime.requests.clear()
        runtime.by_business_object.clear()
        return runtime.requests.summary()

    @r.get("/knobs")
    async def get_knobs() -> dict[str, Any]:
        return runtime.knobs.model_dump()

    @r.post("/knobs")
    async def set_knobs(change: dict[str, Any]) -> dict[str, Any]:
        try:
            knobs = Knobs.model_validate({**runtime.knobs.model_dump(), **change})
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
        runtime.apply_knobs(knobs)
        return knobs.model_dump()

    @r.post("/tokens")
    async def tokens(body: dict[str, Any] | None = None) -> dict[str, Any]:
        body = body or {}
        return dict(runtime.tokens.mint(body.get("client_id"), body.get("scope")))

    @r.post("/articles/{art_code}")
    async def change_article(
        art_code: str, change: ArticleChange, company: str | None = None
    ) -> dict[str, Any]:
        c = _company(runtime, company)
        art = c.tables["ARTICLE"].get(art_code)
        if art is None:
            raise HTTPException(404, f"unknown article {art_code}")
        now = runtime.now()
        master = {
            "ART_DESC1": change.description,
            "PX_SELL": change.price,
            "REC_BLK": change.blocked,
            runtime.settings.ean_field: change.ean,
        }
        master = {k: v for k, v in master.items() if v is not None}
        if master:
            art.update(master)
            stamp_update(art, now, "SANDBOX")
        tech, reserved, on_order = quantities(art)
        move(
            art,
            runtime.knobs,
            now,
            tech=(change.qty_tech - tech if change.qty_tech is not None else 0.0)
            + (change.qty_tech_delta or 0.0),
            reserved=change.reserved - reserved if change.reserved is not None else 0.0,
            on_order=change.on_order - on_order if change.on_order is not None else 0.0,
        )
        return _view(runtime, c, "ARTICLE", art)

    @r.delete("/articles/{art_code}")
    async def delete_article(art_code: str, company: str | None = None) -> dict[str, Any]:
        c = _company(runtime, company)
        art = c.tables["ARTICLE"].get(art_code)
        if art is None:
            raise HTTPException(404, f"unknown article {art_code}")
        del c.tables["ARTICLE"].rows[art["ART_CODE"]]
        return {"deleted": art["ART_CODE"]}

    @r.post("/orders/{ord_nr}/deliver")
    async def deliver(ord_nr: str, company: str | None = None) -> dict[str, Any]:
        """Deliver an open sales order: stock leaves, the reservation ends."""
        c = _company(runtime, company)
        hdr = c.tables["SO_HDR"].get(ord_nr)
        if hdr is None:
            raise HTTPException(404, f"unknown order {ord_nr}")
        if hdr.get("ORD_CLOSED"):
            raise HTTPException(409, f"order {ord_nr} is already delivered")
        now = runtime.now()
        for line in c.tables["SO_LINE"].rows.values():
            art = c.tables["ARTICLE"].get(line["ART_CODE"])
            qty = line.get("ORD_QTY")
            if line.get("ORD_NR") == hdr["ORD_NR"] and art is not None and isinstance(qty, float):
                move(art, runtime.knobs, now, tech=-qty, reserved=-qty)
        hdr["ORD_CLOSED"] = True
        stamp_update(hdr, now, "SANDBOX")
        return _view(runtime, c, "SO_HDR", hdr)

    @r.post("/records/{table}")
    async def insert_record(
        table: str, body: RecordInsert, company: str | None = None
    ) -> dict[str, Any]:
        """Insert a raw record (test set-up), skipping the API's validation."""
        c = _company(runtime, company)
        td = c.tables.get(table.upper())
        if td is None:
            raise HTTPException(404, f"unknown table {table}")
        try:
            values = {
                k.upper(): coerce(td.table.fields[k.upper()], v) for k, v in body.values.items()
            }
        except KeyError as exc:
            raise HTTPException(422, f"unknown field {exc}") from exc
        except AccountViewError as exc:
            raise HTTPException(422, exc.message) from exc
        rec = new_record(td, values, runtime.now(), "SANDBOX")
        if td.table.name == "ARTICLE":
            rec[RESERVED] = 0.0
        td.put(rec)
        return _view(runtime, c, td.table.name, rec)

    return r


def _counts(runtime: Runtime) -> list[dict[str, Any]]:
    return [
        {**c.summary(), "tables": {n: len(td) for n, td in c.tables.items()}}
        for c in runtime.state.companies.values()
    ]


__all__ = ["sandbox_router"]
