"""Signed webhooks: accepted when authentic and fresh; refused without any side effect."""

from __future__ import annotations

import json

from koppel.gateway.domain import webhook_signature

from .conftest import Harness
from .test_flows import enable


class Webhook:
    def __init__(self, h: Harness, tenant_id: str, secret: str) -> None:
        self.h, self.tenant_id, self.secret = h, tenant_id, secret

    async def send(
        self,
        flow: str,
        body: bytes,
        *,
        secret: str | None = None,
        age: int = 0,
        headers: dict[str, str] | None = None,
    ) -> int:
        timestamp = str(int(self.h.clock().timestamp()) - age)
        signed = {
            "X-Koppel-Timestamp": timestamp,
            "X-Koppel-Signature": webhook_signature(secret or self.secret, timestamp, body),
            "Content-Type": "application/json",
        }
        response = await self.h.client.post(
            f"/v1/webhooks/{self.tenant_id}/{flow}", content=body, headers=headers or signed
        )
        self.last = response
        return response.status_code


async def setup(h: Harness) -> Webhook:
    created = await h.create_tenant()
    await enable(h, h.auth(created["api_key"]), "orders")
    return Webhook(h, created["tenant"]["id"], created["webhook_secret"])


async def side_effects(h: Harness) -> tuple[int, int]:
    runs = len(await h.published("flow_run_requested"))
    return runs, len(await h.outbox())


class TestWebhooks:
    async def test_signed_request_starts_a_run(self, h: Harness) -> None:
        hook = await setup(h)
        assert await hook.send("orders", b"") == 202
        run_id = hook.last.json()["run_id"]
        requested = await h.published("flow_run_requested")
        assert requested[-1]["run_id"] == run_id
        assert requested[-1]["trigger"] == "webhook"
        assert requested[-1]["record_id"] is None

    async def test_single_record_sync(self, h: Harness) -> None:
        hook = await setup(h)
        assert await hook.send("orders", json.dumps({"record_id": "ord-42"}).encode()) == 202
        assert (await h.published("flow_run_requested"))[-1]["record_id"] == "ord-42"
        # A single-record sync does not wait for (or block) a full run.
        assert await hook.send("orders", b"") == 202
        assert await hook.send("orders", json.dumps({"record_id": "ord-43"}).encode()) == 202

    async def test_bad_signature_stale_missing_are_401_without_side_effects(
        self, h: Harness
    ) -> None:
        hook = await setup(h)
        before = await side_effects(h)
        assert await hook.send("orders", b"", secret="whsec_wrong") == 401
        assert await hook.send("orders", b"", age=301) == 401
        assert "replay window" in hook.last.json()["detail"]
        assert await hook.send("orders", b"", age=-301) == 401
        assert await hook.send("orders", b"", headers={"Content-Type": "application/json"}) == 401
        assert (
            await hook.send(
                "orders",
                b"",
                headers={"X-Koppel-Timestamp": "soon", "X-Koppel-Signature": "sha256=00"},
            )
            == 401
        )
        assert await side_effects(h) == before

    async def test_signature_covers_the_body(self, h: Harness) -> None:
        hook = await setup(h)
        before = await side_effects(h)
        timestamp = str(int(h.clock().timestamp()))
        signature = webhook_signature(hook.secret, timestamp, b'{"record_id": "a"}')
        response = await h.client.post(
            f"/v1/webhooks/{hook.tenant_id}/orders",
            content=b'{"record_id": "b"}',
            headers={"X-Koppel-Timestamp": timestamp, "X-Koppel-Signature": signature},
        )
        assert response.status_code == 401
        assert await side_effects(h) == before

    async def test_unknown_tenant_looks_like_a_bad_signature(self, h: Harness) -> None:
        hook = await setup(h)
        other = Webhook(h, "ten_doesnotexist", hook.secret)
        assert await other.send("orders", b"") == 401
        assert other.last.json()["detail"] == "the signature does not match"

    async def test_oversize_body_is_413_without_side_effects(self, h: Harness) -> None:
        hook = await setup(h)
        before = await side_effects(h)
        big = json.dumps({"record_id": "x" * 70_000}).encode()
        assert await hook.send("orders", big) == 413
        assert await side_effects(h) == before

    async def test_rotated_secret_replaces_the_old_one(self, h: Harness) -> None:
        created = await h.create_tenant()
        key = h.auth(created["api_key"])
        await enable(h, key, "orders")
        new_secret = (await h.client.post("/v1/tenant/webhook-secret/rotate", headers=key)).json()[
            "webhook_secret"
        ]
        hook = Webhook(h, created["tenant"]["id"], created["webhook_secret"])
        assert await hook.send("orders", b"") == 401
        assert await hook.send("orders", b"", secret=new_secret) == 202

    async def test_authentic_but_invalid_requests(self, h: Harness) -> None:
        hook = await setup(h)
        assert await hook.send("invoices", b"") == 404
        assert await hook.send("orders", b"[1]") == 422
        assert await hook.send("orders", b'{"record": 1}') == 422
        assert hook.last.json()["field"] == "record"
        assert await hook.send("stock", b"") == 409  # not enabled
