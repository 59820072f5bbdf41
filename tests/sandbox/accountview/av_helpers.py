"""Helpers for the AccountView sandbox contract tests (a uniquely named module, not conftest)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from koppel.sandbox.accountview import AccountViewSandboxSettings, SeedSpec


class AV:
    """A thin test client speaking AccountView's wire format."""

    def __init__(self, http: httpx.AsyncClient, app: FastAPI) -> None:
        self.http = http
        self.app = app
        self.headers: dict[str, str] = {}

    async def login(self) -> None:
        tok = (await self.http.post("/_sandbox/tokens")).json()
        self.headers = {"Authorization": f"Bearer {tok['access_token']}"}
        companies = (await self.http.get("/api/v3/companies", headers=self.headers)).json()
        self.company = companies[0]["Id"]
        self.headers["x-company"] = self.company

    async def get(self, bo: str, **params: Any) -> httpx.Response:
        return await self.http.get(
            "/api/v3/accountviewdata", params={"BusinessObject": bo, **params}, headers=self.headers
        )

    async def rows(self, bo: str, table: str, **params: Any) -> list[dict[str, Any]]:
        r = await self.get(bo, **params)
        assert r.status_code == 200, r.text
        return list(r.json()[table])

    async def write(
        self,
        method: str,
        bo: str,
        table: str,
        rows: list[dict[str, Any]],
        detail: tuple[str, list[dict[str, Any]]] | None = None,
    ) -> httpx.Response:
        return await self.http.request(
            method,
            "/api/v3/accountviewdata",
            json=body(bo, table, rows, detail),
            headers=self.headers,
        )

    async def admin(self, method: str, path: str, **kw: Any) -> Any:
        r = await self.http.request(method, f"/_sandbox{path}", **kw)
        assert r.status_code == 200, r.text
        return r.json()


def body(
    bo: str,
    table: str,
    rows: list[dict[str, Any]],
    detail: tuple[str, list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Definition + positional Rows, as the real clients send it (RowId first, strings)."""

    def part(name: str, rws: list[dict[str, Any]], lead: list[str]) -> tuple[Any, Any]:
        names = lead + [n for n in dict.fromkeys(k for r in rws for k in r) if n not in lead]
        fields = [{"Name": n, "FieldType": "C"} for n in names]
        data = [{"Values": [r.get(n, "") for n in names]} for r in rws]
        return {"Name": name, "Fields": fields}, {"Rows": data}

    hdr_rows = [{"RowId": str(i + 1), **r} for i, r in enumerate(rows)]
    definition, data = part(table, hdr_rows, ["RowId"])
    out: dict[str, Any] = {
        "BookDate": "2025-03-01T10:00:00.000Z",
        "BusinessObject": bo,
        "Table": {"Definition": definition},
        "TableData": {"Data": data},
    }
    if detail:
        dname, drows = detail
        drows = [{"RowId": str(i + 1), "HeaderId": "1", **r} for i, r in enumerate(drows)]
        ddef, ddata = part(dname, drows, ["RowId", "HeaderId"])
        out["Table"]["DetailDefinitions"] = [ddef]
        out["TableData"]["DetailData"] = [ddata]
    return out


def make_settings(**kw: Any) -> AccountViewSandboxSettings:
    seed = kw.pop("seed", SeedSpec(articles=30, debtors=10))
    return AccountViewSandboxSettings(seed=seed, **kw)
