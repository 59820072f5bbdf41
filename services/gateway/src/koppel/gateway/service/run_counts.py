"""Counting one record's outcome in its run: two statements, the run's row touched last.

Every record of a run bumps the same ``gateway_runs`` row, so on PostgreSQL all deliveries
of one run queue on that row's lock from their ``UPDATE`` until their commit. Hence:

- the per-record row goes in with ``INSERT ... ON CONFLICT DO NOTHING``: its row count says
  whether this record is new, without a ``SELECT`` first and without the integrity error
  (and bus retry) of two deliveries inserting the same record at once (PostgreSQL makes the
  second wait for the first and then skip);
- the counter bump and the finish check are one ``UPDATE``: the ``SET`` expressions see the
  row as it was, so the new status is computed from the counts *after* the bump; whichever
  record completes the count closes the run, exactly once, because the bump of the next
  record waits for that row lock and then reads the closed status;
- that ``UPDATE`` is the handler's last statement, so the lock is held for one round trip
  plus the commit;
- statements are built once (bound parameters only) and run on the session's connection,
  skipping the ORM's per-statement work: the handler runs for every record of every run.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from koppel.gateway.domain import Outcome, RunStatus
from koppel.gateway.models import RunRecordRow, RunRow

_T = RunRow.__table__  # type: ignore[attr-defined]
_R = RunRecordRow.__table__  # type: ignore[attr-defined]
_RUNNING = RunStatus.running.value


def _status(counts: dict[Outcome, Any]) -> Any:
    return sa.case(
        (counts[Outcome.failed] == 0, RunStatus.succeeded.value),
        (counts[Outcome.synced] + counts[Outcome.skipped] == 0, RunStatus.failed.value),
        else_=RunStatus.partially_failed.value,
    )


@cache
def bump(outcome: Outcome, *, moved: bool = False) -> sa.Update:
    """Count one more record as ``outcome`` (``moved``: it counted as failed until now) and
    finish the run when that completes it. Parameters: ``b_run``, ``b_tenant``, ``b_now``.

    A move also recomputes a run that was already finished by its counts (not one failed as
    a whole, which carries a ``reason_code``): a late success turns ``failed`` into
    ``partially_failed`` or ``succeeded``.
    """
    delta = dict.fromkeys(Outcome, 0)
    delta[outcome] += 1
    if moved:
        delta[Outcome.failed] -= 1
    after = {o: _T.c[o.value] + d if d else _T.c[o.value] for o, d in delta.items()}
    complete = sa.and_(
        _T.c.fetched.is_not(None),
        after[Outcome.synced] + after[Outcome.skipped] + after[Outcome.failed] >= _T.c.fetched,
    )
    closes = sa.and_(_T.c.status == _RUNNING, complete)
    reopens = sa.and_(
        _T.c.status.in_([RunStatus.failed.value, RunStatus.partially_failed.value]),
        _T.c.reason_code.is_(None),
        complete,
    )
    values: dict[str, Any] = {o.value: after[o] for o, d in delta.items() if d}
    values["status"] = sa.case(
        (sa.or_(closes, reopens) if moved else closes, _status(after)), else_=_T.c.status
    )
    values["ended_at"] = sa.case(
        (closes, sa.bindparam("b_now", type_=_T.c.ended_at.type)), else_=_T.c.ended_at
    )
    return (
        sa.update(_T)
        .where(_T.c.id == sa.bindparam("b_run"), _T.c.tenant_id == sa.bindparam("b_tenant"))
        .values(values)
    )


@cache
def insert_record(dialect: str) -> sa.Insert:
    """The record's row unless the run has it already (rowcount 1: a new record)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(_R).on_conflict_do_nothing(index_elements=[_R.c.run_id, _R.c.correlation_id])


# A success replacing the record's failure (rowcount 1: moved). Parameters: ``b_run``,
# ``b_correlation``, ``b_outcome``, ``b_now``.
MOVE_FROM_FAILED = (
    sa.update(_R)
    .where(
        _R.c.run_id == sa.bindparam("b_run"),
        _R.c.correlation_id == sa.bindparam("b_correlation"),
        _R.c.outcome == Outcome.failed.value,
    )
    .values(outcome=sa.bindparam("b_outcome"), at=sa.bindparam("b_now", type_=_R.c.at.type))
)


def record_values(
    run_id: str, correlation_id: str, tenant_id: str, outcome: Outcome, now: datetime
) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "correlation_id": correlation_id,
        "tenant_id": tenant_id,
        "outcome": outcome.value,
        "at": now,
    }
