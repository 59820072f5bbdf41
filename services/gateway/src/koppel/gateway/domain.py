"""Pure rules of the gateway: API keys, webhook signatures, schedules, run outcomes. No I/O."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from croniter import croniter

API_KEY_PREFIX = "kpl_"
ADMIN_KEY_PREFIX = "kpla_"
# What a listing shows of a key: enough to recognise it, far too little to use it.
KEY_PREFIX_LENGTH = 12
WEBHOOK_REPLAY_WINDOW = timedelta(minutes=5)
WEBHOOK_MAX_BODY = 64 * 1024


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class NewApiKey:
    plaintext: str  # shown once, never stored
    prefix: str
    hash: str


def new_api_key(prefix: str = API_KEY_PREFIX) -> NewApiKey:
    """A 256-bit random key. A plain sha256 is enough to store it: it cannot be guessed."""
    plaintext = prefix + secrets.token_urlsafe(32)
    return NewApiKey(
        plaintext=plaintext, prefix=plaintext[:KEY_PREFIX_LENGTH], hash=sha256_hex(plaintext)
    )


def generate_admin_api_key() -> str:
    """For ``koppel up`` when ``KOPPEL_ADMIN_API_KEY`` is unset: printed once, then configured."""
    return new_api_key(ADMIN_KEY_PREFIX).plaintext


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def new_oauth_state() -> str:
    return secrets.token_urlsafe(32)


# --- webhook signatures -----------------------------------------------------------------------


class SignatureProblem(StrEnum):
    missing = "missing"
    malformed_timestamp = "malformed_timestamp"
    stale = "stale"
    mismatch = "mismatch"


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over ``"<timestamp>.<body>"``, hex, as sent in ``X-Koppel-Signature``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def check_webhook_signature(
    *, secret: str, timestamp: str | None, signature: str | None, body: bytes, now: datetime
) -> SignatureProblem | None:
    """None when the request is authentic and fresh, else what is wrong with it."""
    if not timestamp or not signature:
        return SignatureProblem.missing
    try:
        sent = int(timestamp)
    except ValueError:
        return SignatureProblem.malformed_timestamp
    if abs(now.timestamp() - sent) > WEBHOOK_REPLAY_WINDOW.total_seconds():
        return SignatureProblem.stale
    expected = webhook_signature(secret, timestamp, body)
    given = signature if signature.startswith("sha256=") else "sha256=" + signature
    if not constant_time_equal(expected, given.lower()):
        return SignatureProblem.mismatch
    return None


# --- schedules ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    interval_seconds: int | None = None
    cron: str | None = None

    def next_after(self, moment: datetime) -> datetime:
        """The first due time strictly after ``moment`` (UTC, aware)."""
        if self.interval_seconds is not None:
            return moment + timedelta(seconds=self.interval_seconds)
        if self.cron is not None:
            result: datetime = croniter(self.cron, moment).get_next(datetime)
            return result
        raise ValueError("a schedule needs an interval or a cron expression")

    def next_due(self, previous_due: datetime, now: datetime) -> datetime:
        """The slot after ``previous_due`` that is still ahead of ``now``.

        Slots missed while no scheduler ran are not made up for (one run covers them all),
        and interval slots keep their phase instead of drifting by each tick's lateness.
        """
        if self.interval_seconds is not None:
            step = self.interval_seconds
            behind = max(0.0, (now - previous_due).total_seconds())
            return previous_due + timedelta(seconds=step * (int(behind // step) + 1))
        return self.next_after(max(previous_due, now))


def valid_cron(expression: str) -> bool:
    return bool(croniter.is_valid(expression))


# --- tenants -----------------------------------------------------------------------------------


class Language(StrEnum):
    """The language of the tenant's alert texts (and other words Koppel sends them)."""

    nl = "nl"
    en = "en"


DEFAULT_LANGUAGE = Language.nl


def language_of(value: str | None) -> Language:
    """A stored language; anything unknown (or a row from before it was kept) reads as nl."""
    try:
        return Language(value or DEFAULT_LANGUAGE)
    except ValueError:
        return DEFAULT_LANGUAGE


# --- runs ---------------------------------------------------------------------------------------


class RunStatus(StrEnum):
    running = "running"
    succeeded = "succeeded"
    partially_failed = "partially_failed"
    failed = "failed"


class Outcome(StrEnum):
    synced = "synced"
    skipped = "skipped"
    failed = "failed"


def finished_status(*, fetched: int, synced: int, skipped: int, failed: int) -> RunStatus | None:
    """The final status once every fetched record reached an outcome, else None."""
    if synced + skipped + failed < fetched:
        return None
    if failed == 0:
        return RunStatus.succeeded
    if synced + skipped == 0:
        return RunStatus.failed
    return RunStatus.partially_failed
