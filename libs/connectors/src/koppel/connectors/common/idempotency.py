"""Create a record exactly once over a network that may lose the answer.

A POST that timed out, lost its connection or got a 5xx may still have created the record.
Blindly sending it again makes duplicates, so ``create_once`` looks the record up by its
deterministic key (SKU, e-mail, the source order id written into the target order) before
each new attempt, and also after a duplicate-key refusal.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from koppel.connectors.common.clock import SYSTEM_CLOCK, Clock
from koppel.connectors.common.errors import ConflictError, TransientConnectorError
from koppel.connectors.common.retry import RetryPolicy

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CreateResult(Generic[T]):
    record: T
    created: bool
    """False when the record was found instead (it existed, or an earlier lost attempt made it)."""
    attempts: int = 1


async def create_once(
    create: Callable[[], Awaitable[T]],
    find: Callable[[], Awaitable[T | None]],
    *,
    policy: RetryPolicy | None = None,
    clock: Clock = SYSTEM_CLOCK,
    check_first: bool = True,
) -> CreateResult[T]:
    policy = policy or RetryPolicy()
    if check_first:
        existing = await find()
        if existing is not None:
            return CreateResult(existing, created=False, attempts=0)
    attempt = 0
    while True:
        attempt += 1
        try:
            return CreateResult(await create(), created=True, attempts=attempt)
        except ConflictError:
            existing = await find()
            if existing is not None:
                return CreateResult(existing, created=False, attempts=attempt)
            raise
        except TransientConnectorError as exc:
            if attempt >= policy.max_attempts or (exc.retry_after or 0) > policy.max_wait:
                raise
            await clock.sleep(policy.backoff(attempt, exc.retry_after))
            if exc.maybe_processed:
                existing = await find()
                if existing is not None:
                    return CreateResult(existing, created=False, attempts=attempt)
