"""The AccountView.net web API v3 routes (paths arrive lower-cased, see middleware)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from koppel.sandbox.accountview.auth import OAuthError
from koppel.sandbox.accountview.errors import AccountViewError, error_body
from koppel.sandbox.accountview.query import run_query
from koppel.sandbox.accountview.runtime import Runtime
from koppel.sandbox.accountview.schema import BUSINESS_OBJECTS
from koppel.sandbox.accountview.store import Company
from koppel.sandbox.accountview.writes import Writer, parse_body

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}


def _params(request: Request) -> dict[str, str]:
    # Parameter names are case-insensitive (BusinessObject, businessobject, businessObject).
    return {k.lower(): v for k, v in request.query_params.multi_items()}


def _authorize(runtime: Runtime, request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    client = runtime.tokens.client_of(token.strip()) if scheme.lower() == "bearer" else None
    if client is None:
        raise AccountViewError("Authorization has been denied for this request.", 401)
    request.scope.setdefault("state", {})["sandbox_client_id"] = client
    return client


def _company(runtime: Runtime, request: Request) -> Company:
    ident = request.headers.get("x-company", "").strip()
    if not ident:
        raise AccountViewError("De header x-company ontbreekt")
    company = runtime.state.companies.get(ident) or next(
        (c for c in runtime.state.companies.values() if c.id.lower() == ident.lower()), None
    )
    if company is None:
        raise AccountViewError(f"Onbekende onderneming {ident}")
    return company


def api_router(runtime: Runtime) -> APIRouter:
    router = APIRouter()

    @router.post("/api/v3/token")
    async def token(request: Request) -> Response:
        form = {k.lower(): str(v) for k, v in (await request.form()).items()}
        try:
            runtime.tokens.check_client(form.get("client_id"), form.get("client_secret", ""))
            grant = form.get("grant_type", "")
            if grant == "authorization_code":
                body = runtime.tokens.exchange_code(
                    form.get("code", ""), form.get("redirect_uri", "")
                )
            elif grant == "refresh_token":
                body = runtime.tokens.refresh(form.get("refresh_token", ""))
            else:
                raise OAuthError("unsupported_grant_type", f"grant_type {grant!r} is not supported")
        except OAuthError as exc:
            return JSONResponse(
                {"error": exc.error, "error_description": exc.description}, exc.status_code
            )
        if not runtime.knobs.token_expires_in_field:
            body.pop("expires_in", None)
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    @router.get("/ams/authorize.aspx")
    async def authorize(request: Request) -> Response:
        p = _params(request)
        redirect_uri = p.get("redirect_uri", "")
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https") or (parts.hostname or "") not in LOCAL_HOSTS:
            return PlainTextResponse("redirect_uri must point to localhost or 127.0.0.1", 400)
        try:
            runtime.tokens.check_client(p.get("client_id"))
        except OAuthError as exc:
            return PlainTextResponse(exc.description, 400)
        state = p.get("state", "")
        sep = "&" if parts.query else "?"
        if p.get("response_type", "code") == "token":  # implicit grant (NG uses it)
            tok = runtime.tokens.mint(p.get("client_id"), p.get("scope"))
            frag = {"access_token": tok["access_token"], "token_type": "bearer", "state": state}
            frag["expires_in"] = str(tok["expires_in"])
            return RedirectResponse(f"{redirect_uri}#{urlencode(frag)}", 302)
        code = runtime.tokens.issue_code(p.get("client_id", ""), redirect_uri, p.get("scope", ""))
        return RedirectResponse(
            f"{redirect_uri}{sep}{urlencode({'code': code, 'state': state})}", 302
        )

    @router.get("/api/v3/companies")
    async def companies(request: Request) -> Any:
        _authorize(runtime, request)
        return [c.summary() for c in runtime.state.companies.values()]

    @router.get("/api/v3/accountviewsystembusinessobjects")
    async def business_objects(request: Request) -> Any:
        _authorize(runtime, request)
        _company(runtime, request)
        return [
            {
                "Code": bo.code,
                "Description": bo.description,
                "InsertAllowed": bo.insert,
                "UpdateAllowed": bo.update,
                "DeleteAllowed": bo.delete,
            }
            for bo in BUSINESS_OBJECTS.values()
        ]

    @router.get("/api/v3/accountviewdata")
    async def read(request: Request) -> Any:
        _authorize(runtime, request)
        company = _company(runtime, request)
        result = run_query(company, _params(request), runtime.knobs)
        if runtime.knobs.not_found_on_empty and not any(result.values()):
            return JSONResponse(error_body("Geen records gevonden"), 404)
        return result

    async def _write(request: Request, update: bool) -> Any:
        client = _authorize(runtime, request)
        company = _company(runtime, request)
        try:
            body = json.loads(await request.body())
        except ValueError as exc:
            raise AccountViewError("De body is geen geldige JSON") from exc
        req = parse_body(company, body, _params(request).get("businessobject"))
        writer = Writer(company, runtime.knobs, runtime.now(), client)
        return writer.update(req) if update else writer.insert(req)

    @router.post("/api/v3/accountviewdata")
    async def insert(request: Request) -> Any:
        return await _write(request, update=False)

    @router.put("/api/v3/accountviewdata")
    async def update(request: Request) -> Any:
        return await _write(request, update=True)

    return router
