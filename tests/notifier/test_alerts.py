"""Alerts end to end: a failure reaches a real SMTP server and a real webhook receiver with
the right words, storms fold into one alert and a count, digests, retries with backoff,
signatures, silent flows (injected clock), and secrets that never come back out."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from test_alerts_support import (
    SMTP_PASSWORD,
    SMTP_USER,
    WEBHOOK_SECRET,
    Alerting,
    FakeClock,
    alerting,
    deliveries,
    post,
    smtp_server,
    wait_for,
    webhook_receiver,
)

from koppel.common.events import (
    EntityRef,
    EntityType,
    FlowRunFetched,
    OrderFailed,
)
from koppel.common.messages import Flow
from koppel.notifier.alerts import runner, store
from koppel.notifier.alerts.channels import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify_signature,
)


def order_failed(
    tenant: str, number: int, reason_code: str = "unmapped_value", **kw: Any
) -> OrderFailed:
    details = kw.pop("details", {"map_name": "vat_codes", "value": "H21", "country": "BE"})
    return OrderFailed(
        tenant_id=tenant,
        flow=Flow.orders,
        run_id=uuid4(),
        entity=EntityRef(type=EntityType.order, source_id=f"o-{number}", key=str(number)),
        reason_code=reason_code,
        reason=kw.pop("reason", "VAT code H21 for country BE has no entry in value map vat_codes."),
        step="map",
        details=details,
        **kw,
    )


def webhook_channel(url: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "webhook", "name": "ops hook", "url": url, "secret": WEBHOOK_SECRET, **extra}


async def fold_count(a: Alerting, tenant: str) -> int:
    async with a.ctx.database.session() as s:
        total = await s.execute(
            sa.select(sa.func.coalesce(sa.func.sum(store.FOLDS.c.folded), 0)).where(
                store.FOLDS.c.tenant_id == tenant
            )
        )
        return int(total.scalar_one())


async def test_an_order_failure_reaches_smtp_and_webhook_with_plain_words(tmp_path: Path) -> None:
    async with smtp_server() as (mail, port), webhook_receiver() as hook, alerting(tmp_path) as a:
        tenant = "t-mail"
        a.tenant_settings[tenant] = {"tenant": {"id": tenant, "language": "nl"}, "flows": {}}
        email = await post(
            a,
            f"/{tenant}/alert-channels",
            {
                "kind": "email",
                "name": "bookkeeper",
                "language": "en",
                "to": ["anna@example.nl"],
                "from_address": "koppel@example.nl",
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
                "smtp_security": "none",
                "smtp_username": SMTP_USER,
                "smtp_password": SMTP_PASSWORD,
            },
        )
        await post(a, f"/{tenant}/alert-channels", webhook_channel(hook.url))
        await post(a, f"/{tenant}/alert-rules", {"kind": "failure", "flows": ["orders"]})
        failure = order_failed(tenant, 1042)

        started = time.perf_counter()
        await a.bus.publish([failure])
        await wait_for(lambda: len(mail.messages) == 1 and len(hook.received) == 1)
        # A number, not an assertion: the promise is "within 60 s" (poll 1 s by default).
        print(f"failure -> e-mail and webhook: {time.perf_counter() - started:.3f} s")

        # E-mail, in the channel's language (English), through a login on a real server
        message = mail.messages[0]
        assert mail.recipients[0] == ["anna@example.nl"]
        assert message["Subject"] == "[Koppel] Order 1042 failed"
        body = message.get_payload(decode=True).decode()
        link = f"https://app.koppel.test/app/activity/{failure.correlation_id}"
        assert "What: Order 1042 failed (flow orders, map)" in body
        assert "Why: VAT code H21 for country BE has no entry in value map vat_codes." in body
        assert "What to do: Map VAT code 'H21' for country BE in value map vat_codes" in body
        assert link in body
        # Webhook, in the tenant's language (Dutch), signed
        received = hook.received[0]
        assert verify_signature(
            WEBHOOK_SECRET,
            received.headers[TIMESTAMP_HEADER],
            received.body,
            received.headers[SIGNATURE_HEADER],
        )
        payload = hook.json(0)
        assert payload["language"] == "nl"
        assert payload["subject"] == "[Koppel] Order 1042 is mislukt"
        [item] = payload["alerts"]
        assert item["what_to_do"].startswith(
            "Koppel btw-code 'H21' voor land BE in waardetabel vat_codes"
        )
        assert item["link"] == link
        assert item["entity"] == {"type": "order", "key": "1042", "source_id": "o-1042"}
        # Both deliveries are logged as sent, at the first attempt
        await wait_for_async(lambda: _count(a, tenant, "sent"), 2)
        log = await deliveries(a, tenant)
        assert sorted(d["status"] for d in log) == ["sent", "sent"]
        by_channel = {d["channel_id"]: d for d in log}
        assert by_channel[email["id"]]["attempt_log"][0]["outcome"] == "sent"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.connected)])
def db_url(request: pytest.FixtureRequest) -> str | None:
    """None: the notifier's SQLite file; else the real PostgreSQL (connected runs)."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("database_url")
    return url


async def test_a_storm_of_50_identical_failures_folds_into_one_alert_and_a_count(
    tmp_path: Path, db_url: str | None
) -> None:
    clock = FakeClock()
    async with webhook_receiver() as hook, alerting(tmp_path, clock, database_url=db_url) as a:
        tenant = "t-storm"
        await post(a, f"/{tenant}/alert-channels", webhook_channel(hook.url, language="en"))
        await post(a, f"/{tenant}/alert-rules", {"kind": "failure"})

        await a.bus.publish([order_failed(tenant, 2000 + i) for i in range(50)])
        other = order_failed(
            tenant,
            3000,
            "missing_products",
            details={"missing_skus": ["ART-9"]},
            reason="Products ART-9 do not exist in AccountView.",
        )
        await a.bus.publish([other])
        await wait_for(lambda: len(hook.received) == 2)
        await wait_for_async(lambda: fold_count(a, tenant), 49)

        subjects = sorted(hook.json(i)["subject"] for i in range(2))
        assert (
            subjects[0].startswith("[Koppel] Order 2")
            and subjects[1] == "[Koppel] Order 3000 failed"
        )
        missing = next(hook.json(i) for i in range(2) if "3000" in hook.json(i)["subject"])
        assert "Create article(s) ART-9 in AccountView" in missing["text"]

        # The window closes: one summary says how many were held back
        clock.advance(minutes=16)
        assert (await runner.tick(a.ctx))["summaries"] == 1
        await wait_for(lambda: len(hook.received) == 3)
        summary = hook.json(2)
        assert summary["subject"].startswith("[Koppel] 49 more: Order 20")
        assert summary["text"].startswith("And 49 more like this since 2026-11-25 09:00 UTC.")
        assert summary["alerts"][0]["folded_count"] == 49
        assert await fold_count(a, tenant) == 0
        # The next failure after a quiet window alerts again at once, with nothing folded
        clock.advance(minutes=16)
        await a.bus.publish([order_failed(tenant, 4000)])
        await wait_for(lambda: len(hook.received) == 4)
        assert "more like this" not in hook.json(3)["text"]


async def wait_for_async(probe: Any, expected: Any, timeout: float = 20.0) -> None:
    """Poll an async probe until it answers ``expected`` (the sender works in the background)."""
    async with asyncio.timeout(timeout):
        while await probe() != expected:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_a_digest_channel_sends_one_message_per_interval(
    tmp_path: Path, db_url: str | None
) -> None:
    clock = FakeClock()
    async with webhook_receiver() as hook, alerting(tmp_path, clock, database_url=db_url) as a:
        tenant = "t-digest"
        channel = await post(
            a,
            f"/{tenant}/alert-channels",
            webhook_channel(hook.url, language="en", digest_seconds=600),
        )
        await post(a, f"/{tenant}/alert-rules", {"kind": "failure"})
        codes = ["unmapped_value", "invalid_email", "stock_module_on"]
        await a.bus.publish([order_failed(tenant, 10 + i, code) for i, code in enumerate(codes)])
        await wait_for_async(lambda: _count(a, tenant, "queued"), 3)
        assert hook.received == []
        clock.advance(minutes=5)
        assert (await runner.tick(a.ctx))["digests"] == 0

        clock.advance(minutes=6)
        assert (await runner.tick(a.ctx))["digests"] == 1
        await wait_for(lambda: len(hook.received) == 1)
        digest = hook.json(0)
        assert digest["type"] == "digest"
        assert digest["subject"] == "[Koppel] 3 alerts"
        assert sorted(x["reason_code"] for x in digest["alerts"]) == sorted(codes)
        assert "Correct the customer's e-mail address in eAccounting" in digest["text"]
        await wait_for_async(lambda: _count(a, tenant, "sent"), 1)
        log = await deliveries(a, tenant, channel_id=channel["id"])
        assert sorted(d["status"] for d in log) == ["digested"] * 3 + ["sent"]

        # The delivery log is kept for the retention period, then purged
        clock.advance(days=29)
        assert (await runner.tick(a.ctx))["purged"] == 0
        clock.advance(days=2)
        assert (await runner.tick(a.ctx))["purged"] == 4
        assert await deliveries(a, tenant) == []
        async with a.ctx.database.session() as s:
            left = await s.execute(sa.select(sa.func.count()).select_from(store.ALERTS))
            assert left.scalar_one() == 0


async def _count(a: Alerting, tenant: str, status: str) -> int:
    async with a.ctx.database.session() as s:
        query = sa.select(sa.func.count()).where(
            store.DELIVERIES.c.tenant_id == tenant, store.DELIVERIES.c.status == status
        )
        return int((await s.execute(query)).scalar_one())


async def test_a_failing_webhook_is_retried_with_backoff_then_succeeds(tmp_path: Path) -> None:
    async with webhook_receiver() as hook, alerting(tmp_path) as a:
        tenant = "t-retry"
        hook.plan = [500, 503]
        await post(a, f"/{tenant}/alert-channels", webhook_channel(hook.url))
        await post(a, f"/{tenant}/alert-rules", {"kind": "failure"})
        await a.bus.publish([order_failed(tenant, 77)])
        await wait_for(lambda: len(hook.received) == 3)
        await wait_for_async(lambda: _count(a, tenant, "sent"), 1)

        [delivery] = await deliveries(a, tenant)
        assert delivery["attempts"] == 3
        log = delivery["attempt_log"]
        assert [x["outcome"] for x in log] == ["retry", "retry", "sent"]
        # growing delays from KOPPEL_ALERT_RETRY_DELAYS (20 s, 40 s) x time scale
        assert [x["retry_in_seconds"] for x in log] == [
            pytest.approx(0.02),
            pytest.approx(0.04),
            None,
        ]
        assert log[0]["error"] == "webhook answered 500"
        ids = {r.headers["X-Koppel-Delivery"] for r in hook.received}
        assert ids == {str(delivery["id"])}


async def test_a_webhook_that_keeps_refusing_ends_failed_and_a_4xx_is_not_retried(
    tmp_path: Path,
) -> None:
    async with webhook_receiver() as hook, alerting(tmp_path, alert_retry_delays=(1.0,)) as a:
        tenant = "t-fail"
        hook.plan = [500, 500, 400]
        await post(a, f"/{tenant}/alert-channels", webhook_channel(hook.url))
        await post(a, f"/{tenant}/alert-rules", {"kind": "failure"})
        await a.bus.publish([order_failed(tenant, 1)])
        await wait_for_async(lambda: _count(a, tenant, "failed"), 1)
        await a.bus.publish([order_failed(tenant, 2, "invalid_email")])
        await wait_for_async(lambda: _count(a, tenant, "failed"), 2)
        log = sorted(await deliveries(a, tenant), key=lambda d: d["id"])
        assert [x["outcome"] for x in log[0]["attempt_log"]] == ["retry", "failed"]
        assert [x["outcome"] for x in log[1]["attempt_log"]] == ["failed"]
        assert log[1]["last_error"] == "webhook answered 400"


def test_the_webhook_signature_verifies_and_refuses_tampering() -> None:
    from koppel.notifier.alerts.channels import sign

    body, stamp = b'{"type":"alert"}', "1764061200"
    signature = sign(WEBHOOK_SECRET, stamp, body)
    now = 1764061200 + 10
    assert verify_signature(WEBHOOK_SECRET, stamp, body, signature, now=now)
    assert not verify_signature("another-secret-0000", stamp, body, signature, now=now)
    assert not verify_signature(WEBHOOK_SECRET, stamp, body + b" ", signature, now=now)
    assert not verify_signature(WEBHOOK_SECRET, "1764061201", body, signature, now=now)
    assert not verify_signature(WEBHOOK_SECRET, stamp, body, signature, now=now + 3600)


async def test_a_silent_flow_alerts_once_per_silence(tmp_path: Path) -> None:
    clock = FakeClock()
    async with webhook_receiver() as hook, alerting(tmp_path, clock) as a:
        tenant = "t-silent"
        a.tenant_settings[tenant] = {
            "tenant": {"id": tenant, "language": "en"},
            "flows": {
                "orders": {"enabled": True, "schedule": {"interval_seconds": 300}},
                "stock": {"enabled": False, "schedule": {"interval_seconds": 300}},
                "products": {"enabled": True, "schedule": None},
            },
        }
        await post(a, f"/{tenant}/alert-channels", webhook_channel(hook.url))
        await post(a, f"/{tenant}/alert-rules", {"kind": "silent_flow", "silent_factor": 3})
        clock.advance(minutes=1)
        fetched = FlowRunFetched(
            tenant_id=tenant, flow=Flow.orders, run_id=uuid4(), fetched=3, occurred_at=clock()
        )
        await a.bus.publish([fetched])
        await wait_for_async(lambda: _last_success(a, tenant), clock())

        clock.advance(minutes=15)  # 15 min since the last success: exactly 3 x 5 min
        assert (await runner.tick(a.ctx))["silent"] == 0
        clock.advance(minutes=1)
        assert (await runner.tick(a.ctx))["silent"] == 1
        clock.advance(minutes=30)
        assert (await runner.tick(a.ctx))["silent"] == 0  # same silence: alerted already
        await wait_for(lambda: len(hook.received) == 1)
        payload = hook.json(0)
        assert payload["subject"] == "[Koppel] Flow orders has gone silent"
        assert "should run every 5 min" in payload["text"]
        assert payload["alerts"][0]["link"] == "https://app.koppel.test/app/activity?flow=orders"

        # A successful run ends the silence; the next one alerts again
        await a.bus.publish(
            [fetched.model_copy(update={"message_id": uuid4(), "occurred_at": clock()})]
        )
        await wait_for_async(lambda: _last_success(a, tenant), clock())
        clock.advance(minutes=20)
        assert (await runner.tick(a.ctx))["silent"] == 1
        await wait_for(lambda: len(hook.received) == 2)


async def _last_success(a: Alerting, tenant: str) -> Any:
    async with a.ctx.database.session() as s:
        query = sa.select(store.HEALTH.c.last_success_at).where(store.HEALTH.c.tenant_id == tenant)
        return store.as_utc((await s.execute(query)).scalar_one_or_none())


async def test_channel_secrets_never_leave_the_api_or_the_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with alerting(tmp_path) as a:
        tenant = "t-secret"
        port = 9  # nothing listens: the delivery fails and is logged
        email = await post(
            a,
            f"/{tenant}/alert-channels",
            {
                "kind": "email",
                "name": "mail",
                "to": ["x@example.nl"],
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
                "smtp_security": "none",
                "smtp_username": "u",
                "smtp_password": SMTP_PASSWORD,
            },
        )
        hook = await post(a, f"/{tenant}/alert-channels", webhook_channel("http://127.0.0.1:9/h"))
        await post(a, f"/{tenant}/alert-rules", {"kind": "failure"})
        base = f"/internal/notifier/tenants/{tenant}/alert-channels"
        put = await a.http.put(
            f"{base}/{hook['id']}",
            json={
                "kind": "webhook",
                "name": "renamed",
                "url": "http://127.0.0.1:9/h2",
            },
        )
        assert put.status_code == 200, put.text
        assert put.json()["has_secret"] is True
        await a.bus.publish([order_failed(tenant, 5)])
        await wait_for_async(lambda: _count(a, tenant, "retrying"), 2)

        texts = [str(email), put.text]
        for path in (
            base,
            f"{base}/{email['id']}",
            f"{base}/{hook['id']}",
            f"/internal/notifier/tenants/{tenant}/alert-deliveries",
        ):
            response = await a.http.get(path)
            assert response.status_code == 200
            texts.append(response.text)
        async with a.ctx.database.session() as s:
            stored = (await s.execute(sa.select(store.CHANNELS.c.secret_encrypted))).scalars().all()
        texts.extend(str(x) for x in stored)
        texts.append(caplog.text)
        assert "retry" in caplog.text  # the failures were logged...
        for text in texts:  # ...and no secret anywhere
            assert SMTP_PASSWORD not in text
            assert WEBHOOK_SECRET not in text
        # Another tenant sees nothing
        other = await a.http.get(f"/internal/notifier/tenants/t-other/alert-channels/{hook['id']}")
        assert other.status_code == 404


async def test_deliveries_survive_a_restart_and_expired_claims_are_sent_again(
    tmp_path: Path,
) -> None:
    tenant = "t-restart"
    key = Fernet.generate_key().decode()  # the same platform key before and after
    async with alerting(tmp_path, alert_retry_delays=(20.0,) * 50, encryption_keys=key) as first:
        # Nothing listens on port 9: the delivery is committed and keeps retrying
        hook_id = (
            await post(first, f"/{tenant}/alert-channels", webhook_channel("http://127.0.0.1:9/x"))
        )["id"]
        await post(first, f"/{tenant}/alert-rules", {"kind": "failure"})
        await first.bus.publish([order_failed(tenant, 8)])
        await wait_for_async(lambda: _count(first, tenant, "retrying"), 1)
    async with webhook_receiver() as hook, alerting(tmp_path, encryption_keys=key) as second:
        put = await second.http.put(
            f"/internal/notifier/tenants/{tenant}/alert-channels/{hook_id}",
            json={"kind": "webhook", "name": "fixed", "url": hook.url},
        )
        assert put.status_code == 200, put.text
        await wait_for(lambda: len(hook.received) == 1)
        await wait_for_async(lambda: _count(second, tenant, "sent"), 1)
        [delivery] = await deliveries(second, tenant)
        outcomes = [x["outcome"] for x in delivery["attempt_log"]]
        assert outcomes[-1] == "sent" and set(outcomes[:-1]) == {"retry"}
        assert hook.json(0)["alerts"][0]["entity"]["key"] == "8"

        # A sender that died mid-send leaves a claim; once its lease ran out it is sent again
        async with second.ctx.database.session() as s:
            await s.execute(
                store.DELIVERIES.update()
                .where(store.DELIVERIES.c.id == delivery["id"])
                .values(status="sending", lease_until=datetime.now(UTC) - timedelta(seconds=1))
            )
            await s.commit()
        await wait_for(lambda: len(hook.received) == 2)
        assert hook.received[1].headers["X-Koppel-Delivery"] == str(delivery["id"])
