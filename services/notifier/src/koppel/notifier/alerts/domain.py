"""Pure alert rules: which events alert, what an alert says (as data), folding, backoff and
the silent-flow arithmetic. No I/O."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from croniter import croniter

from koppel.common.events import (
    ConnectionNeedsConsent,
    FailureEvent,
    FlowRunFailed,
    MessageDeadLettered,
)
from koppel.common.messages import Message


class RuleKind(StrEnum):
    failure = "failure"  # OrderFailed, CustomerFailed, ProductFailed, StockFailed, FlowRunFailed
    dead_letter = "dead_letter"  # MessageDeadLettered
    needs_consent = "needs_consent"  # ConnectionNeedsConsent
    silent_flow = "silent_flow"  # no successful run for N x the schedule (periodic check)


@dataclass
class AlertDraft:
    """What an alert is about, before texts are chosen for a language."""

    kind: str
    reason_code: str
    reason: str
    flow: str | None = None
    step: str | None = None
    entity_type: str | None = None
    entity_key: str | None = None
    source_id: str | None = None
    correlation_id: str | None = None
    occurred_at: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def fold_key(self) -> str:
        return f"{self.kind}|{self.flow or '-'}|{self.reason_code}"

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> AlertDraft:
        data = json.loads(text)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def _flow(message: Message) -> str | None:
    return message.flow.value if message.flow is not None else None


def _dead_letter_draft(message: MessageDeadLettered) -> AlertDraft:
    draft = AlertDraft(
        kind=RuleKind.dead_letter,
        reason_code=message.reason_code,
        reason=message.reason,
        flow=_flow(message),
        step=message.service,
        occurred_at=message.occurred_at.isoformat(),
        details={"attempts": message.attempts, "queue": message.queue},
    )
    try:
        body = json.loads(message.body)
    except ValueError:
        return draft
    if isinstance(body, dict):
        entity = body.get("entity")
        if isinstance(entity, dict):
            draft.entity_type = entity.get("type")
            draft.entity_key = entity.get("key") or entity.get("source_id")
            draft.source_id = entity.get("source_id")
        draft.flow = draft.flow or body.get("flow")
        draft.correlation_id = body.get("correlation_id")
    return draft


def draft_for(message: Message) -> AlertDraft | None:
    """The alert ``message`` may raise, or None when it never alerts."""
    occurred = message.occurred_at.isoformat()
    correlation = str(message.correlation_id)
    if isinstance(message, FailureEvent):
        return AlertDraft(
            kind=RuleKind.failure,
            reason_code=message.reason_code,
            reason=message.reason,
            flow=_flow(message),
            step=message.step,
            entity_type=message.entity.type.value,
            entity_key=message.entity.key or message.entity.source_id,
            source_id=message.entity.source_id,
            correlation_id=correlation,
            occurred_at=occurred,
            details=dict(message.details),
        )
    if isinstance(message, FlowRunFailed):
        return AlertDraft(
            kind=RuleKind.failure,
            reason_code=message.reason_code,
            reason=message.reason,
            flow=_flow(message),
            step="run",
            correlation_id=correlation,
            occurred_at=occurred,
        )
    if isinstance(message, ConnectionNeedsConsent):
        return AlertDraft(
            kind=RuleKind.needs_consent,
            reason_code="needs_consent",
            reason=message.reason,
            flow=_flow(message),
            step="connection",
            correlation_id=correlation,
            occurred_at=occurred,
            details={"system": message.system},
        )
    if isinstance(message, MessageDeadLettered):
        return _dead_letter_draft(message)
    return None


@dataclass(frozen=True)
class RuleView:
    """A stored rule, decoded."""

    id: int
    kind: str
    enabled: bool
    flows: list[str] | None
    reason_codes: list[str] | None
    channel_ids: list[int] | None
    silent_factor: float | None = None

    def matches(self, draft: AlertDraft) -> bool:
        if not self.enabled or self.kind != draft.kind:
            return False
        if self.flows is not None and draft.flow not in self.flows:
            return False
        return self.reason_codes is None or draft.reason_code in self.reason_codes


def target_channels(
    rules: list[RuleView], draft: AlertDraft, enabled_channels: set[int]
) -> set[int]:
    """The enabled channels of every matching rule (a rule without channels: all of them)."""
    chosen: set[int] = set()
    for rule in rules:
        if rule.matches(draft):
            chosen |= enabled_channels if rule.channel_ids is None else set(rule.channel_ids)
    return chosen & enabled_channels


@dataclass(frozen=True)
class FoldDecision:
    send: bool
    folded_before: int  # repeats held back in the previous window (reported with this alert)


def fold(
    window_started_at: datetime | None, folded: int, now: datetime, window: timedelta
) -> FoldDecision:
    """One alert per key per window; repeats inside it are only counted."""
    if window_started_at is not None and now < window_started_at + window:
        return FoldDecision(send=False, folded_before=0)
    return FoldDecision(send=True, folded_before=folded)


def retry_delay(attempt: int, delays: tuple[float, ...], scale: float) -> float | None:
    """Seconds to wait after failed attempt number ``attempt`` (1-based); None: give up."""
    if attempt > len(delays):
        return None
    return delays[attempt - 1] * scale


def expected_interval(schedule: dict[str, Any] | None, now: datetime) -> timedelta | None:
    """The time between two runs of a schedule (``interval_seconds`` or five-field ``cron``)."""
    if not schedule:
        return None
    seconds = schedule.get("interval_seconds")
    if seconds:
        return timedelta(seconds=float(seconds))
    expression = schedule.get("cron")
    if expression and croniter.is_valid(expression):
        it = croniter(expression, now)
        first: datetime = it.get_next(datetime)
        second: datetime = it.get_next(datetime)
        return second - first
    return None


def is_silent(
    last_success: datetime,
    alerted_at: datetime | None,
    interval: timedelta,
    factor: float,
    now: datetime,
) -> bool:
    """Silent: no success for ``factor`` x the interval, and not alerted since the last one."""
    if now - last_success <= interval * factor:
        return False
    return alerted_at is None or alerted_at < last_success
