"""Inbound webhooks: ``POST /v1/webhooks/{tenant_id}/{flow}``, signed with the tenant's secret."""

# No ``from __future__ import annotations``: FastAPI must see the route-local aliases.
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, status

from koppel.gateway.api.deps import Deps
from koppel.gateway.api.problems import INVALID, problem
from koppel.gateway.errors import PayloadTooLarge
from koppel.gateway.schemas import RunAccepted, WebhookBody
from koppel.gateway.service import webhooks
from koppel.gateway.service.context import Gateway


async def read_capped(request: Request, limit: int) -> bytes:
    """The body, refusing more than ``limit`` bytes before reading them all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def build(deps: Deps) -> APIRouter:
    router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
    Gw = Annotated[Gateway, Depends(deps.gateway)]

    @router.post(
        "/{tenant_id}/{flow}",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=RunAccepted,
        summary="Trigger a flow (signed webhook)",
        openapi_extra={
            "requestBody": {
                "required": False,
                "content": {
                    "application/json": {
                        "schema": WebhookBody.model_json_schema(),
                        "examples": {
                            "one record": {
                                "value": {"record_id": "6b1c0d9e-4f1a-4c55-9a43-1f0e8c2d7b10"}
                            },
                            "whole flow": {"value": {}},
                        },
                    }
                },
            }
        },
        responses={
            401: problem(401, "Unauthorized", "the signature does not match"),
            413: problem(413, "Content Too Large", "the body is larger than 65536 bytes"),
            **INVALID,
        },
    )
    async def receive(
        tenant_id: str,
        flow: str,
        request: Request,
        gw: Gw,
        x_koppel_timestamp: Annotated[str | None, Header()] = None,
        x_koppel_signature: Annotated[str | None, Header()] = None,
    ) -> RunAccepted:
        """Starts a run of ``flow`` (empty body) or a sync of one record (``{"record_id": ...}``).

        Sign with HMAC-SHA256 over ``"<X-Koppel-Timestamp>.<body>"`` using the tenant's webhook
        secret; send ``X-Koppel-Signature: sha256=<hex>`` and the Unix-seconds timestamp
        (accepted within 5 minutes). Bodies over 64 KiB are refused.
        """
        body = await read_capped(request, gw.settings.webhook_max_body)
        row = await webhooks.receive(
            gw,
            tenant_id=tenant_id,
            flow_name=flow,
            timestamp=x_koppel_timestamp,
            signature=x_koppel_signature,
            body=body,
        )
        return RunAccepted(run_id=row.id, status=row.status)

    return router
