"""``POST /v1/connections/{system}/test``: a few cheap reads that show what works.

Plain reads with the access token the gateway just handed out, so the test exercises the
same token path as the services. Each check reports on its own (a missing scope fails one
check, not the whole test). Answers are summarised, never echoed: they may hold customer data.
"""

from __future__ import annotations

import httpx

from koppel.gateway.schemas import ConnectionCheck

# (check name, path): eAccounting needs ea:sales for the first three, ea:accounting for VAT.
EACCOUNTING_READS = (
    ("read customers", "/customers?$pagesize=1"),
    ("read articles", "/articles?$pagesize=1"),
    ("read orders", "/orders?$pagesize=1"),
    ("read VAT codes", "/vatcodes?$pagesize=1"),
)
ACCOUNTVIEW_READS = (
    ("read debtors", "/accountviewdata?BusinessObject=AR1&PageSize=1"),
    ("read articles", "/accountviewdata?BusinessObject=AK1&PageSize=1"),
)


class HttpProbe:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def probe(
        self, *, system: str, api_base_url: str, access_token: str, company: str | None
    ) -> list[ConnectionCheck]:
        base = api_base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        if system == "eaccounting":
            return [
                await self._read(name, base + path, headers) for name, path in EACCOUNTING_READS
            ]
        check, company_id = await self._company(base, headers, company)
        checks = [check]
        if company_id is not None:
            with_company = {**headers, "x-company": company_id}
            checks += [
                await self._read(name, base + path, with_company)
                for name, path in ACCOUNTVIEW_READS
            ]
        return checks

    async def _company(
        self, base: str, headers: dict[str, str], company: str | None
    ) -> tuple[ConnectionCheck, str | None]:
        response = await self._get(base + "/companies", headers)
        if isinstance(response, str):
            return ConnectionCheck(name="find company", ok=False, detail=response), None
        if response.status_code != 200:
            return ConnectionCheck(
                name="find company",
                ok=False,
                detail=f"GET /companies answered {response.status_code}",
            ), None
        try:
            companies = response.json()
        except ValueError:
            companies = None
        if not isinstance(companies, list):
            return ConnectionCheck(
                name="find company", ok=False, detail="GET /companies did not answer a list"
            ), None
        if company is None:
            return ConnectionCheck(
                name="find company",
                ok=False,
                detail=f"{len(companies)} companies visible; set company on the connection",
            ), None
        for entry in companies:
            if isinstance(entry, dict) and company in (
                str(entry.get("Id")),
                str(entry.get("Code")),
            ):
                return ConnectionCheck(
                    name="find company", ok=True, detail=f"company {company} found"
                ), str(entry.get("Id"))
        return ConnectionCheck(
            name="find company",
            ok=False,
            detail=f"company {company} is not among the {len(companies)} visible",
        ), None

    async def _read(self, name: str, url: str, headers: dict[str, str]) -> ConnectionCheck:
        response = await self._get(url, headers)
        if isinstance(response, str):
            return ConnectionCheck(name=name, ok=False, detail=response)
        if response.status_code == 200:
            return ConnectionCheck(name=name, ok=True, detail="ok")
        return ConnectionCheck(name=name, ok=False, detail=f"answered {response.status_code}")

    async def _get(self, url: str, headers: dict[str, str]) -> httpx.Response | str:
        try:
            return await self._http.get(url, headers=headers, timeout=20.0)
        except httpx.HTTPError as exc:
            return f"not reachable ({type(exc).__name__})"
