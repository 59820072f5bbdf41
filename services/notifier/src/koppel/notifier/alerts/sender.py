"""The sender worker: claims due deliveries, renders and sends them, logs every attempt.

Restart-safe: a claim is a lease (``status='sending'``, ``lease_until``); a sender that died
mid-send leaves a lease that runs out, and the next sender sends again (at-least-once; the
``X-Koppel-Delivery`` header lets a webhook receiver drop a repeat). PostgreSQL replicas claim
with ``FOR UPDATE SKIP LOCKED`` so two never take the same row.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from koppel.common.db import Database
from koppel.notifier.alerts import channels, store, texts
from koppel.notifier.alerts.crypto import SecretBox, SecretBoxError
from koppel.notifier.alerts.domain import AlertDraft, retry_delay
from koppel.notifier.alerts.egress import DestinationRefused, check_destination
from koppel.notifier.config import NotifierSettings

log = logging.getLogger(__name__)
TenantSettings = Callable[[str], Awaitable[dict[str, Any]]]
D = store.DELIVERIES


class Sender:
    def __init__(
        self,
        database: Database,
        settings: NotifierSettings,
        *,
        box: Callable[[], SecretBox],
        clock: Callable[[], datetime],
        tenant_settings: TenantSettings | None,
    ) -> None:
        self.database = database
        self.settings = settings
        # Built at first use: an install without KOPPEL_ENCRYPTION_KEYS still starts (and sends
        # through channels without secrets); only a channel with a secret needs the key.
        self._box_factory = box
        self._box: SecretBox | None = None
        self.clock = clock
        self.tenant_settings = tenant_settings
        self.http = httpx.AsyncClient(timeout=settings.alert_webhook_timeout_seconds)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._limit = asyncio.Semaphore(settings.alert_send_concurrency)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="notifier-alert-sender")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.http.aclose()

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        interval = max(self.settings.alert_poll_seconds * self.settings.time_scale, 0.01)
        while True:
            try:
                await self.run_once()
            except Exception:  # a bad round must not stop the sender
                log.exception("alert sender round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            self._wake.clear()

    async def _claim(self) -> list[int]:
        now = self.clock()
        lease = now + timedelta(seconds=self.settings.alert_lease_seconds)
        due = sa.or_(
            sa.and_(D.c.status.in_(("pending", "retrying")), D.c.next_attempt_at <= now),
            sa.and_(D.c.status == "sending", D.c.lease_until < now),
        )
        query = sa.select(D.c.id).where(due).order_by(D.c.next_attempt_at, D.c.id).limit(100)
        if self.database.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        async with self.database.session() as session:
            ids = [r.id for r in (await session.execute(query)).all()]
            if not ids:
                return []
            result = await session.execute(
                D.update().where(D.c.id.in_(ids), due).values(status="sending", lease_until=lease)
            )
            await session.commit()
        return (
            ids if getattr(result, "rowcount", -1) == len(ids) else await self._claimed(ids, lease)
        )

    async def _claimed(self, ids: list[int], lease: datetime) -> list[int]:
        async with self.database.session() as session:
            query = sa.select(D.c.id).where(
                D.c.id.in_(ids), D.c.status == "sending", D.c.lease_until == lease
            )
            return [r.id for r in (await session.execute(query)).all()]

    async def run_once(self) -> int:
        """Send every delivery due now; the number handled."""
        ids = await self._claim()
        await asyncio.gather(*(self._deliver(i) for i in ids))
        return len(ids)

    async def _deliver(self, delivery_id: int) -> None:
        async with self._limit:
            error: channels.DeliveryError | None = None
            try:
                await self._send(delivery_id)
            except channels.DeliveryError as exc:
                error = exc
            except Exception as exc:  # rendering or a bug: logged, retried like a failure
                log.exception("alert delivery %s failed unexpectedly", delivery_id)
                error = channels.DeliveryError(f"internal error ({type(exc).__name__})")
            await self._record(delivery_id, error)

    async def _language(self, tenant_id: str, channel: Any) -> str:
        if channel.language in texts.LANGUAGES:
            return str(channel.language)
        if self.tenant_settings is not None:
            with contextlib.suppress(Exception):  # an unreachable gateway must not block
                tenant = (await self.tenant_settings(tenant_id)).get("tenant", {})
                if tenant.get("language") in texts.LANGUAGES:
                    return str(tenant["language"])
        return self.settings.alert_default_language

    async def _send(self, delivery_id: int) -> None:
        async with self.database.session() as session:
            row = (await session.execute(sa.select(D).where(D.c.id == delivery_id))).one()
            channel = (
                await session.execute(
                    sa.select(store.CHANNELS).where(
                        store.CHANNELS.c.id == row.channel_id,
                        store.CHANNELS.c.tenant_id == row.tenant_id,
                    )
                )
            ).one_or_none()
            if channel is None or not channel.enabled:
                raise channels.DeliveryError("channel removed or disabled", retryable=False)
            if row.kind == "digest":
                alert_query = (
                    sa.select(store.ALERTS)
                    .join(D, D.c.alert_id == store.ALERTS.c.id)
                    .where(D.c.digest_id == row.id)
                    .order_by(store.ALERTS.c.created_at)
                )
            else:
                alert_query = sa.select(store.ALERTS).where(store.ALERTS.c.id == row.alert_id)
            alerts = (await session.execute(alert_query)).all()
        lang = await self._language(row.tenant_id, channel)
        base = self.settings.alert_public_base_url
        rendered = [
            (
                a,
                texts.render(
                    AlertDraft.from_json(a.content),
                    lang,
                    base,
                    folded=a.folded_count,
                    folded_since=store.as_utc(a.folded_since),
                    summary=a.summary,
                ),
            )
            for a in alerts
        ]
        if not rendered:
            raise channels.DeliveryError("nothing to send", retryable=False)
        if row.kind == "digest":
            subject, text = texts.render_digest([r for _a, r in rendered], lang)
        else:
            subject, text = rendered[0][1].subject, rendered[0][1].text
        config = json.loads(channel.config)
        secret = self._secret(channel.secret_encrypted)
        if channel.kind == "email":
            await channels.send_email(
                self._smtp(config, secret),
                list(config["to"]),
                subject,
                text,
                {"X-Koppel-Delivery": str(row.id)},
            )
            return
        body = _webhook_body(row, lang, subject, text, rendered, self.clock())
        allow_private = self.settings.alert_webhook_allow_private
        try:
            await check_destination(config["url"], allow_private=allow_private)
        except DestinationRefused as exc:
            raise channels.DeliveryError(str(exc), retryable=exc.retryable) from None
        await channels.send_webhook(
            self.http, config["url"], secret or "", body, delivery_id=row.id
        )

    def _secret(self, ciphertext: str | None) -> str | None:
        if ciphertext is None:
            return None
        try:
            if self._box is None:
                self._box = self._box_factory()
            return self._box.decrypt(ciphertext)
        except SecretBoxError as exc:
            # No key, or a rotated-away one: retrying cannot help until someone fixes the keys
            # or sets the channel's secret again. The message never holds a secret.
            raise channels.DeliveryError(str(exc), retryable=False) from None

    def _smtp(self, config: dict[str, Any], secret: str | None) -> channels.SmtpServer:
        s = self.settings
        own = bool(config.get("smtp_host"))
        if not own and not s.alert_smtp_host:
            raise channels.DeliveryError("no SMTP server configured", retryable=False)
        default_password = (
            s.alert_smtp_password.get_secret_value() if s.alert_smtp_password else None
        )
        return channels.SmtpServer(
            host=config["smtp_host"] if own else str(s.alert_smtp_host),
            port=int(config.get("smtp_port") or s.alert_smtp_port),
            security=config.get("smtp_security") or s.alert_smtp_security,
            username=config.get("smtp_username") if own else s.alert_smtp_username,
            password=secret if own else default_password,
            sender=config.get("from_address") or s.alert_smtp_from,
            timeout=s.alert_smtp_timeout_seconds,
        )

    async def _record(self, delivery_id: int, error: channels.DeliveryError | None) -> None:
        now = self.clock()
        async with self.database.session() as session:
            row = (await session.execute(sa.select(D).where(D.c.id == delivery_id))).one()
            attempt = row.attempts + 1
            values: dict[str, Any] = {"attempts": attempt, "lease_until": None}
            delay = None
            if error is None:
                outcome = "sent"
                values.update(status="sent", sent_at=now, last_error=None)
            else:
                if error.retryable:
                    delay = retry_delay(
                        attempt, self.settings.alert_retry_delays, self.settings.time_scale
                    )
                outcome = "retry" if delay is not None else "failed"
                values.update(status="retrying" if delay is not None else "failed")
                values.update(last_error=str(error))
                if delay is not None:
                    values["next_attempt_at"] = now + timedelta(seconds=delay)
            await session.execute(D.update().where(D.c.id == delivery_id).values(**values))
            await session.execute(
                store.ATTEMPTS.insert().values(
                    tenant_id=row.tenant_id,
                    delivery_id=delivery_id,
                    attempt=attempt,
                    outcome=outcome,
                    error=None if error is None else str(error),
                    retry_in_seconds=delay,
                    attempted_at=now,
                )
            )
            await session.commit()
        if error is not None:
            log.warning("alert delivery %s: %s (%s)", delivery_id, outcome, error)


def _webhook_body(
    row: Any,
    lang: str,
    subject: str,
    text: str,
    rendered: list[tuple[Any, texts.Rendered]],
    now: datetime,
) -> bytes:
    items = []
    for alert, r in rendered:
        draft = AlertDraft.from_json(alert.content)
        items.append(
            {
                "id": str(alert.id),
                "kind": draft.kind,
                "flow": draft.flow,
                "reason_code": draft.reason_code,
                "reason": draft.reason,
                "entity": {
                    "type": draft.entity_type,
                    "key": draft.entity_key,
                    "source_id": draft.source_id,
                },
                "correlation_id": draft.correlation_id,
                "occurred_at": draft.occurred_at,
                "folded_count": alert.folded_count,
                "summary": alert.summary,
                "title": r.headline,
                "what_to_do": r.what_to_do,
                "link": r.link,
            }
        )
    payload = {
        "type": row.kind,
        "delivery_id": row.id,
        "tenant_id": row.tenant_id,
        "language": lang,
        "subject": subject,
        "text": text,
        "alerts": items,
        "sent_at": now.isoformat(),
    }
    return json.dumps(payload, ensure_ascii=False, default=str).encode()
