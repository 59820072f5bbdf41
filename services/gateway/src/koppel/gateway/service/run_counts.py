"""Counting records' outcomes in their runs: concurrent outcomes share one transaction.

Every record of a run bumps the same ``gateway_runs`` row, so on PostgreSQL the deliveries
of one run queue on that row's lock from their ``UPDATE`` until their commit, one commit
(one WAL flush) per record; and each record cost its own statements and commit in CPU. So
the outcomes that arrive while a write is in flight (the bus hands the gateway up to its
prefetch at once) wait for the next write and go in together, as a group commit:

- their record rows go in with one ``INSERT ... ON CONFLICT DO NOTHING RETURNING``: the
  returned keys are the records counted for the first time; a record that is already there
  is not counted again (no ``SELECT`` first, and no integrity error when two replicas insert
  it at once: PostgreSQL makes the second wait for the first and then skip it);
- a success of a record counted as failed moves it (``UPDATE ... WHERE outcome = 'failed'``,
  rare: a replay, a retry that got through after all);
- each run's row gets one ``UPDATE`` that adds the batch's counts and, seeing the row as it
  was (``SET`` expressions read the old values), finishes the run when the new counts reach
  ``fetched``: whichever write completes the count closes the run, exactly once, because the
  next one waits for the row lock and then reads the closed status.

Rows are written in key order (records, then runs), so two replicas' batches never wait on
each other crosswise. A handler returns once its batch committed. When a batch fails, its
outcomes are written one by one, so only the delivery whose outcome cannot be written
raises (and the bus retries it: the records make every retry idempotent).
"""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from koppel.common.errors import TransientError
from koppel.gateway.domain import Outcome, RunStatus
from koppel.gateway.models import RunRecordRow, RunRow
from koppel.gateway.service.ports import UowFactory

_T = RunRow.__table__  # type: ignore[attr-defined]
_R = RunRecordRow.__table__  # type: ignore[attr-defined]
_RUNNING = RunStatus.running.value
_FINISHED_BY_COUNTS = (RunStatus.failed.value, RunStatus.partially_failed.value)
# Outcomes per transaction at most (keeps SQLite's one write lock short when a backlog of
# several replicas' worth of deliveries piles up).
MAX_BATCH = 500


@dataclass(frozen=True)
class Counted:
    """One record's outcome to count, and what starts its run's row if it has none yet."""

    run_id: str
    tenant_id: str
    correlation_id: str
    outcome: Outcome
    at: datetime
    flow: str
    trigger: str
    started_at: datetime


def _status(counts: dict[Outcome, Any]) -> Any:
    return sa.case(
        (counts[Outcome.failed] == 0, RunStatus.succeeded.value),
        (counts[Outcome.synced] + counts[Outcome.skipped] == 0, RunStatus.failed.value),
        else_=RunStatus.partially_failed.value,
    )


@cache
def bump(*, moved: bool) -> sa.Update:
    """Add ``d_synced``/``d_skipped``/``d_failed`` to run ``b_run`` of ``b_tenant`` and finish
    it (``ended_at = b_now``) when that completes its count.

    ``moved`` (some records went from failed to a success) also recomputes a run finished by
    its counts (not one failed as a whole, which carries a ``reason_code``): a late success
    turns ``failed`` into ``partially_failed`` or ``succeeded``; its end stays.
    """
    after = {o: _T.c[o.value] + sa.bindparam(f"d_{o.value}", type_=sa.Integer()) for o in Outcome}
    complete = sa.and_(
        _T.c.fetched.is_not(None),
        after[Outcome.synced] + after[Outcome.skipped] + after[Outcome.failed] >= _T.c.fetched,
    )
    closes = sa.and_(_T.c.status == _RUNNING, complete)
    recomputes = sa.and_(_T.c.status.in_(_FINISHED_BY_COUNTS), _T.c.reason_code.is_(None), complete)
    values: dict[str, Any] = {o.value: after[o] for o in Outcome}
    values["status"] = sa.case(
        (sa.or_(closes, recomputes) if moved else closes, _status(after)), else_=_T.c.status
    )
    values["ended_at"] = sa.case(
        (closes, sa.bindparam("b_now", type_=_T.c.ended_at.type)), else_=_T.c.ended_at
    )
    return (
        sa.update(_T)
        .where(_T.c.id == sa.bindparam("b_run"), _T.c.tenant_id == sa.bindparam("b_tenant"))
        .values(values)
    )


def _insert(dialect: str, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


@cache
def insert_records(dialect: str) -> sa.Insert:
    """Records not counted yet; returns the keys of those it inserted."""
    return (
        _insert(dialect, _R)
        .on_conflict_do_nothing(index_elements=[_R.c.run_id, _R.c.correlation_id])
        .returning(_R.c.run_id, _R.c.correlation_id)
    )


@cache
def insert_run(dialect: str) -> sa.Insert:
    """The row of a run whose request we have not seen (a replay, another tool, or its
    outcomes overtook it), unless someone just wrote it."""
    return _insert(dialect, _T).on_conflict_do_nothing(index_elements=[_T.c.id])


# A success replacing the record's failure (rowcount 1: moved).
MOVE_FROM_FAILED = (
    sa.update(_R)
    .where(
        _R.c.run_id == sa.bindparam("b_run"),
        _R.c.correlation_id == sa.bindparam("b_correlation"),
        _R.c.outcome == Outcome.failed.value,
    )
    .values(outcome=sa.bindparam("b_outcome"), at=sa.bindparam("b_now", type_=_R.c.at.type))
)


def first_success_wins(batch: list[Counted]) -> list[tuple[Counted, bool]]:
    """One entry per record (run, correlation id), in key order, as if the batch had been
    counted one by one: the record's first success, else its first failure; and whether a
    failure came before that success (counted one by one, the success would have moved it).
    """
    chosen: dict[tuple[str, str], tuple[Counted, bool]] = {}
    for entry in batch:
        key = (entry.run_id, entry.correlation_id)
        seen = chosen.get(key)
        if seen is None:
            chosen[key] = (entry, False)
        elif seen[0].outcome is Outcome.failed and entry.outcome is not Outcome.failed:
            chosen[key] = (entry, True)
    return [chosen[key] for key in sorted(chosen)]


@dataclass
class _Run:
    first: Counted
    deltas: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    moved: bool = False


async def write(uow_factory: UowFactory, batch: list[Counted]) -> None:
    """Count ``batch`` in one transaction (see the module docstring)."""
    entries = first_success_wins(batch)
    async with uow_factory() as uow:
        conn = await uow.session.connection()
        dialect = conn.dialect.name
        rows = [
            {
                "run_id": e.run_id,
                "correlation_id": e.correlation_id,
                "tenant_id": e.tenant_id,
                "outcome": e.outcome.value,
                "at": e.at,
            }
            for e, _ in entries
        ]
        new = {tuple(r) for r in await conn.execute(insert_records(dialect), rows)}
        runs: dict[tuple[str, str], _Run] = {}
        for entry, after_failure in entries:
            run = runs.setdefault((entry.run_id, entry.tenant_id), _Run(entry))
            if (entry.run_id, entry.correlation_id) in new:
                run.deltas[entry.outcome] += 1
                run.moved = run.moved or after_failure
            elif entry.outcome is not Outcome.failed and await _move(conn, entry):
                run.deltas[Outcome.failed] -= 1
                run.deltas[entry.outcome] += 1
                run.moved = True
        for (run_id, tenant_id), run in sorted(runs.items()):
            if run.moved or any(run.deltas.values()):
                await _bump(conn, dialect, run_id, tenant_id, run)
        await uow.commit()


async def _move(conn: Any, entry: Counted) -> bool:
    params = {
        "b_run": entry.run_id,
        "b_correlation": entry.correlation_id,
        "b_outcome": entry.outcome.value,
        "b_now": entry.at,
    }
    return bool((await conn.execute(MOVE_FROM_FAILED, params)).rowcount == 1)


async def _bump(conn: Any, dialect: str, run_id: str, tenant_id: str, run: _Run) -> None:
    stmt = bump(moved=run.moved)
    params: dict[str, Any] = {"b_run": run_id, "b_tenant": tenant_id, "b_now": run.first.at}
    params.update({f"d_{o.value}": n for o, n in run.deltas.items()})
    if (await conn.execute(stmt, params)).rowcount == 1:
        return
    first = run.first
    row = {
        "id": run_id,
        "tenant_id": tenant_id,
        "flow": first.flow,
        "trigger": first.trigger,
        "dry_run": False,
        "status": _RUNNING,
        "filtered_out": 0,
        "synced": 0,
        "skipped": 0,
        "failed": 0,
        "started_at": first.started_at,
    }
    await conn.execute(insert_run(dialect), row)
    await conn.execute(stmt, params)  # no row still: the run id is another tenant's


class RunTally:
    """Group commit of record outcomes: ``count`` returns when its outcome is committed.

    One write at a time per process; what arrives meanwhile goes into the next one. An
    outcome that finds no write going writes itself, in its own task (no task switch for the
    common quiet case); what queued behind it is written by a task of its own, batch after
    batch, until the queue is empty. Writes use ``uow_factory`` (this service's database), not
    the caller's unit of work.
    """

    def __init__(self, uow_factory: UowFactory) -> None:
        self._uow_factory = uow_factory
        self._waiting: list[tuple[Counted, asyncio.Future[None]]] = []
        self._busy = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writer: asyncio.Task[None] | None = None  # a reference, so it is not collected

    async def count(self, entry: Counted) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # first use, or what a stopped event loop left behind
            self._loop, self._busy, self._waiting = loop, False, []
        future: asyncio.Future[None] = loop.create_future()
        self._waiting.append((entry, future))
        if not self._busy:
            self._busy = True
            try:
                await self._write_next()
            finally:
                if self._waiting:
                    # A context of its own: the writer serves many deliveries, not this
                    # one's trace and log context.
                    self._writer = asyncio.create_task(
                        self._write_all(), name="gateway-run-tally", context=contextvars.Context()
                    )
                else:
                    self._busy = False
                if future.done() and not future.cancelled():
                    future.exception()  # retrieved here even when this task was cancelled
        try:
            await future  # a cancelled handler's outcome is still written, with the rest
        except Exception as exc:
            # Each handler raises its own error (the bus retries it); the cause is shared.
            raise TransientError(
                f"Counting the run's records failed: {exc}", reason_code="run_count_failed"
            ) from exc

    async def _write_all(self) -> None:
        try:
            while self._waiting:
                await self._write_next()
        finally:
            self._busy = False
            left, self._waiting = self._waiting, []
            _settle(left, TransientError("The run tally stopped", reason_code="stopped"))

    async def _write_next(self) -> None:
        batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
        try:
            try:
                await write(self._uow_factory, [entry for entry, _ in batch])
            except Exception as exc:
                if len(batch) == 1:
                    _settle(batch, exc)
                else:
                    await self._write_one_by_one(batch)
            else:
                _settle(batch, None)
        except BaseException:  # the writing task was cancelled: the others were not
            _settle(batch, TransientError("The write was cancelled", reason_code="cancelled"))
            raise

    async def _write_one_by_one(self, batch: list[tuple[Counted, asyncio.Future[None]]]) -> None:
        """After a failed batch: each outcome alone, so one that cannot be written (or a
        passing conflict) fails only its own delivery, not the others'."""
        for item in batch:
            try:
                await write(self._uow_factory, [item[0]])
            except Exception as exc:
                _settle([item], exc)
            else:
                _settle([item], None)


def _settle(batch: list[tuple[Counted, asyncio.Future[None]]], error: Exception | None) -> None:
    for _, future in batch:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
