"""Inbound webhooks: verified with the tenant's secret before anything else happens."""

from __future__ import annotations

import json
import logging

from pydantic import ValidationError

from koppel.common.events import RunTrigger
from koppel.gateway import domain
from koppel.gateway.errors import InvalidInput, Unauthorized
from koppel.gateway.models import RunRow, TenantRow
from koppel.gateway.schemas import WebhookBody
from koppel.gateway.service.context import Gateway
from koppel.gateway.service.flows import parse_flow
from koppel.gateway.service.runs import request_run

log = logging.getLogger(__name__)


async def receive(
    gw: Gateway,
    *,
    tenant_id: str,
    flow_name: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
) -> RunRow:
    """Checks come in an order that leaks nothing: an unknown tenant and a bad signature get
    the same 401, and only an authentic request learns whether its flow or body is valid."""
    async with gw.uow() as uow:
        tenant = await uow.session.get(TenantRow, tenant_id)
        secret = gw.box.decrypt(tenant.webhook_secret_enc) if tenant is not None else None
    problem = (
        domain.check_webhook_signature(
            secret=secret, timestamp=timestamp, signature=signature, body=body, now=gw.clock()
        )
        if secret is not None
        else domain.SignatureProblem.mismatch
    )
    if problem is not None:
        log.info("webhook refused", extra={"reason": problem.value})
        raise Unauthorized(_REASONS[problem])
    flow = parse_flow(flow_name)
    request = _parse_body(body)
    async with gw.uow() as uow:
        return await request_run(
            gw, uow, tenant_id, flow, trigger=RunTrigger.webhook, record_id=request.record_id
        )


_REASONS = {
    domain.SignatureProblem.missing: "X-Koppel-Timestamp and X-Koppel-Signature are required",
    domain.SignatureProblem.malformed_timestamp: "X-Koppel-Timestamp must be Unix seconds",
    domain.SignatureProblem.stale: "the timestamp is outside the 5-minute replay window",
    domain.SignatureProblem.mismatch: "the signature does not match",
}


def _parse_body(body: bytes) -> WebhookBody:
    if not body.strip():
        return WebhookBody()
    try:
        raw = json.loads(body)
    except ValueError:
        raise InvalidInput("the body is not JSON", field="body") from None
    if not isinstance(raw, dict):
        raise InvalidInput("the body must be a JSON object", field="body")
    try:
        return WebhookBody.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidInput(f"{where}: {first['msg']}", field=where) from None
