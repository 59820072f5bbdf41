"""Notifier's pure rules: how an event becomes an activity-log entry, and what counts as
personal data. No I/O, no framework."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from koppel.common.events import (
    ConnectionNeedsConsent,
    CustomerEnsured,
    EntityRef,
    FailureEvent,
    FlowRunFailed,
    FlowRunFetched,
    FlowRunRequested,
    FlowRunSkipped,
    MessageDeadLettered,
    ProductDeactivated,
    ProductFilteredOut,
    ProductUpserted,
    RecordEvent,
    StockLevelChanged,
    StockUpdated,
    TenantConfigChanged,
    UpsertOutcome,
)
from koppel.common.messages import FLOW_DIRECTION, Message

# The statuses an entry can have (the list plus the run-level ones).
FINAL_STATUSES = frozenset({"synced", "skipped", "failed", "dead_lettered"})


@dataclass
class EntryDraft:
    """What the log keeps of one event, before it is stored."""

    step: str
    status: str
    reason: str | None = None
    reason_code: str | None = None
    outcome: str | None = None
    source: dict[str, Any] | None = None
    target: dict[str, Any] | None = None
    entity: EntityRef | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _payload(message: Message, name: str) -> dict[str, Any] | None:
    value = getattr(message, name, None)
    return value if isinstance(value, dict) else None


def _run_entry(message: Message) -> EntryDraft | None:
    if isinstance(message, FlowRunRequested):
        detail = f"run requested ({message.trigger.value}{', dry run' if message.dry_run else ''})"
        return EntryDraft(step="run", status="requested", reason=detail)
    if isinstance(message, FlowRunFetched):
        detail = f"{message.fetched} records fetched, {message.filtered_out} left out by filters"
        return EntryDraft(step="run", status="fetched", reason=detail)
    if isinstance(message, FlowRunFailed):
        return EntryDraft(
            step="run", status="failed", reason=message.reason, reason_code=message.reason_code
        )
    if isinstance(message, FlowRunSkipped):
        return EntryDraft(step="run", status="skipped", reason=message.reason)
    if isinstance(message, ConnectionNeedsConsent):
        return EntryDraft(
            step="connection",
            status="failed",
            reason=f"{message.system}: {message.reason}",
            reason_code="needs_consent",
        )
    return None


_NAME_STEPS: tuple[tuple[str, str, str], ...] = (
    # (class-name suffix, step, status)
    ("Fetched", "fetch", "fetched"),
    ("Mapped", "map", "mapped"),
    ("Skipped", "sync", "skipped"),
    ("Synced", "sync", "synced"),
)


def _record_entry(message: RecordEvent) -> EntryDraft:
    entry = EntryDraft(step="sync", status="synced", entity=message.entity)
    entry.source = _payload(message, "source")
    entry.target = _payload(message, "target")
    if isinstance(message, FailureEvent):
        entry.step, entry.status = message.step, "failed"
        entry.reason, entry.reason_code = message.reason, message.reason_code
        entry.extra = dict(message.details)
        return entry
    if isinstance(message, ProductFilteredOut):
        entry.step, entry.status = "filter", "skipped"
        entry.reason, entry.reason_code = message.reason, f"filter:{message.filter_name}"
        return entry
    if isinstance(message, ProductUpserted | CustomerEnsured):
        entry.outcome = message.outcome.value
        if message.outcome is UpsertOutcome.unchanged:
            entry.status, entry.reason = "skipped", "unchanged: nothing to write"
        if isinstance(message, CustomerEnsured):
            entry.reason = entry.reason or f"debtor {message.debtor_number} {message.outcome.value}"
        return entry
    if isinstance(message, ProductDeactivated):
        entry.outcome, entry.reason = "deactivated", message.reason
        return entry
    if isinstance(message, StockLevelChanged):
        entry.step, entry.status = "compute", "mapped"
        entry.reason = f"{message.formula}: {message.previous} -> {message.quantity}"
        return entry
    if isinstance(message, StockUpdated):
        entry.reason = f"stock set to {message.quantity:g}"
        return entry
    name = type(message).__name__
    for suffix, step, status in _NAME_STEPS:
        if name.endswith(suffix):
            entry.step, entry.status = step, status
            break
    reason = getattr(message, "reason", None)
    entry.reason = reason if isinstance(reason, str) else None
    return entry


def _dead_letter_entry(message: MessageDeadLettered) -> EntryDraft:
    entry = EntryDraft(
        step="bus",
        status="dead_lettered",
        reason=f"{message.reason} (after {message.attempts} attempts, queue {message.queue})",
        reason_code=message.reason_code,
    )
    try:
        body = json.loads(message.body)
    except ValueError:
        return entry
    if isinstance(body, dict) and isinstance(body.get("entity"), dict):
        try:
            entry.entity = EntityRef.model_validate(body["entity"])
        except ValueError:
            pass
    return entry


def describe(message: Message) -> EntryDraft | None:
    """The activity entry for ``message``, or None for events that are not flow activity."""
    if isinstance(message, TenantConfigChanged):
        return None
    if isinstance(message, MessageDeadLettered):
        return _dead_letter_entry(message)
    if isinstance(message, RecordEvent):
        return _record_entry(message)
    return _run_entry(message)


def direction_of(message: Message) -> str | None:
    return FLOW_DIRECTION[message.flow].value if message.flow is not None else None


# --- personal data -----------------------------------------------------------------------

REDACTED = "[redacted]"
# Field names (either API's spelling, case-insensitive) that hold personal data.
_PERSONAL_KEY = re.compile(
    r"(mail|phone|mobile|tel_|fax|address|addr|street|st_nr|st_extra|postcode|post_code|"
    r"postalcode|zip|city|contact|main_cont|mc_|dear|^name$|customername|acct_name|del_name|"
    r"pay_name|src_code|iban|bank|vat_nr|vatnumber|corporateidentitynumber|coc_code|"
    r"firstname|lastname|^name2$|website|www)",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


@functools.lru_cache(maxsize=4096)
def _is_personal_key(key: str) -> bool:
    """Field names repeat on every event of a flow: match each one once."""
    return _PERSONAL_KEY.search(key) is not None


def _redact_emails(text: str) -> str:
    # Every address has an "@": most strings have none and need no regex at all.
    return _EMAIL.sub(REDACTED, text) if "@" in text else text


def redact_payload(value: Any) -> Any:
    """A copy of ``value`` with every personal field replaced by ``[redacted]``."""
    if isinstance(value, dict):
        return {
            key: REDACTED
            if _is_personal_key(str(key)) and item not in (None, "")
            else redact_payload(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact_payload(item) for item in value]
    if isinstance(value, str):
        return _redact_emails(value)
    return value


def redact_text(text: str | None) -> str | None:
    return None if text is None else _redact_emails(text)


def redact_key(entity_type: str | None, key: str | None) -> str | None:
    """Customer keys are e-mail addresses: personal. SKUs and order numbers are not."""
    if key is None:
        return None
    personal = entity_type == "customer" or ("@" in key and _EMAIL.search(key) is not None)
    return REDACTED if personal else key
