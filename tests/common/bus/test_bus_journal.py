"""The embedded bus's SQLite journal: a killed process loses nothing (DESIGN.md section 1).

A "crash" here abandons the bus: its journal file is closed without writing what is still
pending (as SIGKILL would leave it), its tasks and timers are dropped, and a new bus opens
the same file, as the restarted process would. The last test kills a real process.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

import pytest
from bus_harness import Recorder, eventually

from koppel.common.bus.base import Delivery, MessageHandler, RetryPolicy, Subscription
from koppel.common.bus.memory import InMemoryBus
from koppel.common.db import Database
from koppel.common.errors import PermanentError, TransientError
from koppel.common.events import MessageDeadLettered, TenantConfigChanged
from koppel.common.inbox import InboxEntry
from koppel.common.messages import Message
from koppel.common.outbox import OutboxMessage, OutboxRelay
from koppel.common.uow import UnitOfWork

CONFIG = (TenantConfigChanged.routing_key(),)
SERVICE = "journal-test"


def config(n: int) -> TenantConfigChanged:
    return TenantConfigChanged(tenant_id="t1", section=f"s{n}")


def number(message: Message) -> int:
    assert isinstance(message, TenantConfigChanged)
    return int(message.section[1:])


def subscription(
    handler: MessageHandler,
    *,
    delays: tuple[float, ...] = (0.05,),
    patterns: tuple[str, ...] = CONFIG,
) -> Subscription:
    return Subscription(
        service=SERVICE,
        name="main",
        patterns=patterns,
        handler=handler,
        prefetch=1000,
        retry=RetryPolicy(delays=delays),
    )


async def started(path: Path, *subscriptions: Subscription) -> InMemoryBus:
    bus = InMemoryBus(journal=path)
    for sub in subscriptions:
        bus.subscribe(sub)
    await bus.start()
    return bus


def crash(bus: InMemoryBus) -> None:
    """SIGKILL, in-process: nothing more reaches the file; tasks and timers are dropped."""
    assert bus.broker.journal is not None
    bus.broker.journal.abandon()
    bus.broker.close()
    for task in [*bus._consumers, *bus._inflight]:
        task.cancel()


def rows(path: Path, table: str = "messages") -> int:
    with sqlite3.connect(path) as connection:
        count: int = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return count


async def drained(bus: InMemoryBus, handler: Recorder | Blocking) -> None:
    """Publish a sentinel and wait for it: the queue is FIFO and recovered messages were
    queued first, so anything else still to come has come."""

    def seen() -> list[int]:
        if isinstance(handler, Blocking):
            return handler.acked
        return [number(m) for m, _ in handler.calls]

    await bus.publish([config(-1)])
    await eventually(lambda: -1 in seen(), what="sentinel")


async def stuck(message: Message, delivery: Delivery) -> None:
    await asyncio.Event().wait()


class Blocking:
    """Acknowledges the messages ``ack`` picks; hangs in the others (a slow handler)."""

    def __init__(self, ack: Callable[[int], bool]) -> None:
        self.ack = ack
        self.acked: list[int] = []
        self.started: list[int] = []

    async def __call__(self, message: Message, delivery: Delivery) -> None:
        self.started.append(number(message))
        if not self.ack(number(message)):
            await asyncio.Event().wait()
        self.acked.append(number(message))


async def test_unacknowledged_messages_are_delivered_again_after_a_crash(tmp_path: Path) -> None:
    # Given 40 confirmed messages, the even ones handled, the odd ones stuck in their handler
    path = tmp_path / "bus.db"
    blocking = Blocking(lambda n: n % 2 == 0)
    bus = await started(path, subscription(blocking))
    await bus.publish([config(n) for n in range(40)])
    await eventually(lambda: len(blocking.acked) == 20 and len(blocking.started) == 40)
    assert bus.broker.journal is not None
    await bus.broker.journal.flush()  # the acks reached the file before the kill
    # When the process dies and starts again on the same journal
    crash(bus)
    recorder = Recorder()
    restarted = await started(path, subscription(recorder))
    await drained(restarted, recorder)
    # Then every unacknowledged message comes again (once, as a redelivery, attempt kept)
    again = [(number(m), d) for m, d in recorder.calls if number(m) >= 0]
    assert sorted(n for n, _ in again) == list(range(1, 40, 2))
    assert all(d.redelivered and d.attempt == 1 for _, d in again)
    await restarted.stop()
    assert rows(path) == 0  # all acknowledged now


async def test_handled_messages_whose_acks_were_not_written_come_again(tmp_path: Path) -> None:
    # Given handled messages whose acks may not have been written yet
    path = tmp_path / "bus.db"
    blocking = Blocking(lambda n: True)
    bus = await started(path, subscription(blocking))
    await bus.publish([config(n) for n in range(10)])
    await eventually(lambda: len(blocking.acked) == 10)
    # When the process dies at once
    crash(bus)
    left = rows(path)  # confirmed, and not known to be acknowledged
    # Then exactly those come again (the inbox absorbs them), once each
    recorder = Recorder()
    restarted = await started(path, subscription(recorder))
    await drained(restarted, recorder)
    again = [number(m) for m, _ in recorder.calls if number(m) >= 0]
    assert len(again) == len(set(again)) == left
    assert set(again) <= set(range(10))
    await restarted.stop()  # writes the last acks
    assert rows(path) == 0


async def test_a_delayed_retry_survives_a_restart(tmp_path: Path) -> None:
    # Given a message whose first attempt failed and waits an hour for its retry
    path = tmp_path / "bus.db"
    failing = Recorder(fail=lambda m, d: TransientError("later", reason_code="busy"))
    bus = await started(path, subscription(failing, delays=(3600.0,)))
    await bus.publish([config(1)])
    await eventually(lambda: len(failing.calls) == 1)
    assert bus.broker.journal is not None
    await bus.broker.journal.flush()
    crash(bus)
    # When the process starts again
    recorder = Recorder()
    restarted = await started(path, subscription(recorder, delays=(3600.0,)))
    # Then the retry is waiting for its time, not delivered now nor lost
    assert restarted.broker.depth(f"{SERVICE}.main") == 0
    assert restarted.broker.delayed() == 1
    await drained(restarted, recorder)
    assert [number(m) for m, _ in recorder.calls] == [-1]
    crash(restarted)


async def test_a_due_retry_is_delivered_after_a_restart_with_its_attempt(tmp_path: Path) -> None:
    # Given a message waiting for its second attempt when the process dies
    path = tmp_path / "bus.db"
    failing = Recorder(fail=lambda m, d: TransientError("later", reason_code="busy"))
    bus = await started(path, subscription(failing, delays=(0.2,)))
    await bus.publish([config(1)])
    await eventually(lambda: len(failing.calls) == 1)
    assert bus.broker.journal is not None
    await bus.broker.journal.flush()
    crash(bus)
    # When it starts again, then the retry comes, as the second attempt
    recorder = Recorder()
    restarted = await started(path, subscription(recorder))
    await eventually(lambda: len(recorder.calls) == 1)
    message, delivery = recorder.calls[0]
    assert number(message) == 1
    assert delivery.attempt == 2
    await restarted.stop()


async def test_parked_messages_survive_a_restart(tmp_path: Path) -> None:
    # Given a message parked after a permanent error, and its MessageDeadLettered queued
    path = tmp_path / "bus.db"
    failing = Recorder(fail=lambda m, d: PermanentError("bad", reason_code="bad_mapping"))
    notifier = Subscription(
        service="notifier", name="dead", patterns=(MessageDeadLettered.routing_key(),),
        handler=stuck, prefetch=10,
    )  # fmt: skip
    bus = await started(path, subscription(failing), notifier)
    sent = config(7)
    await bus.publish([sent])
    await eventually(lambda: len(bus.broker.dead_letters(SERVICE)) == 1)
    assert bus.broker.journal is not None
    await bus.broker.journal.flush()
    crash(bus)
    # When the process starts again
    recorder, announced = Recorder(), Recorder()
    restarted = await started(
        path,
        subscription(recorder),
        Subscription(
            service="notifier", name="dead", patterns=notifier.patterns, handler=announced
        ),
    )
    # Then the dead letter is still listed, its announcement still comes, the message does not
    parked = await restarted.dead_letters(SERVICE)
    assert [(p.message_id, p.reason_code, p.attempts) for p in parked] == [
        (str(sent.message_id), "bad_mapping", 1)
    ]
    await eventually(lambda: len(announced.calls) == 1)
    event = announced.calls[0][0]
    assert isinstance(event, MessageDeadLettered)
    assert event.original_message_id == str(sent.message_id)
    await drained(restarted, recorder)
    assert [number(m) for m, _ in recorder.calls] == [-1]
    await restarted.stop()
    assert rows(path, "parked") == 1


async def test_relayed_outbox_rows_are_handled_after_a_crash(tmp_path: Path) -> None:
    # Given outbox rows the relay published (and marked sent) whose handler has not finished
    path = tmp_path / "bus.db"
    database = Database(
        f"sqlite+aiosqlite:///{tmp_path}/svc.db", service="svc", tables=[OutboxMessage, InboxEntry]
    )
    await database.create_all()
    sent = [config(n) for n in range(3)]
    async with UnitOfWork(database) as uow:
        uow.publish(*sent)
        await uow.commit()
    blocking = Blocking(lambda n: False)
    bus = await started(path, subscription(blocking))
    relay = OutboxRelay(database, bus, poll_interval=3600)
    assert await relay.publish_pending() == 3
    assert await relay.pending_count() == 0
    await eventually(lambda: len(blocking.started) == 3)
    # When the process dies and starts again
    crash(bus)
    recorder = Recorder()
    restarted = await started(path, subscription(recorder))
    # Then every event is handled although its row counts as sent
    await eventually(lambda: len(recorder.calls) == 3)
    assert sorted(m.message_id for m, _ in recorder.calls) == sorted(m.message_id for m in sent)
    assert await OutboxRelay(database, restarted).publish_pending() == 0
    await restarted.stop()
    await database.dispose()


async def test_a_clean_stop_keeps_what_was_queued_and_nothing_else(tmp_path: Path) -> None:
    # Given a stop while some messages are still in a handler
    path = tmp_path / "bus.db"
    blocking = Blocking(lambda n: n < 5)
    bus = await started(path, subscription(blocking))
    await bus.publish([config(n) for n in range(10)])
    await eventually(lambda: len(blocking.started) == 10)
    await bus.stop(timeout=0.05)
    # When the next process starts, then exactly the unfinished ones come again
    recorder = Recorder()
    restarted = await started(path, subscription(recorder))
    await drained(restarted, recorder)
    assert sorted(number(m) for m, _ in recorder.calls) == [-1, *range(5, 10)]
    await restarted.stop()


CHILD = """
import asyncio, sys
from pathlib import Path
from koppel.common.bus.base import Subscription
from koppel.common.bus.memory import InMemoryBus
from koppel.common.events import TenantConfigChanged

async def handle(message, delivery):
    n = int(message.section[1:])
    if n % 3:
        await asyncio.Event().wait()  # stuck when the kill comes
    print("handled", n, flush=True)

async def main():
    bus = InMemoryBus(journal=Path(sys.argv[1]))
    bus.subscribe(Subscription(service="kill", name="main", handler=handle, prefetch=10000,
                               patterns=(TenantConfigChanged.routing_key(),)))
    await bus.start()
    for start in range(0, 3000, 500):
        await bus.publish([TenantConfigChanged(tenant_id="t", section=f"s{n}")
                           for n in range(start, start + 500)])
    print("published", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def test_sigkill_of_a_real_process_loses_nothing(tmp_path: Path) -> None:
    # Given a process that published 3000 confirmed messages and handled some of them
    path = tmp_path / "bus.db"
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, str(path), stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert child.stdout is not None
    handled: set[int] = set()
    try:
        async with asyncio.timeout(30):
            while (line := (await child.stdout.readline()).decode()) != "published\n":
                assert line, "the child died"
                handled.add(int(line.split()[1]))
    finally:
        # When it is killed (no chance to write anything more)
        child.send_signal(signal.SIGKILL)
        await child.wait()
    # Then a new process gets every message not handled before the kill
    recorder = Recorder()
    restarted = await started(
        path,
        Subscription(service="kill", name="main", patterns=CONFIG, handler=recorder),
    )
    await drained(restarted, recorder)
    again = {number(m) for m, _ in recorder.calls} - {-1}
    assert again | handled == set(range(3000))
    assert {n for n in range(3000) if n % 3} <= again
    await restarted.stop()


@pytest.mark.parametrize("journal", [False, True])
async def test_only_the_durable_bus_writes_a_journal(tmp_path: Path, journal: bool) -> None:
    path = tmp_path / "bus.db"
    bus = InMemoryBus(journal=path if journal else None)
    await bus.start()
    await bus.stop()
    assert path.exists() == journal


PUBLISHER = """
import asyncio, sys
from pathlib import Path
from koppel.common.bus.base import Subscription
from koppel.common.bus.memory import InMemoryBus
from koppel.common.events import MessageDeadLettered

handling = asyncio.Event()

async def stuck(message, delivery):
    handling.set()
    await asyncio.Event().wait()

async def main():
    bus = InMemoryBus(journal=Path(sys.argv[1]))
    # the queue of the notifier's dead-letter consumer, as koppel up declares it
    bus.subscribe(Subscription(service="notifier", name="dead_letter", handler=stuck,
                               patterns=(MessageDeadLettered.routing_key(),)))
    await bus.start()
    await bus.publish([MessageDeadLettered(
        tenant_id="t1", service="orders", queue="orders.sync", original_routing_key="x",
        original_message_id=sys.argv[2], reason_code="bad_mapping", reason="test",
        attempts=1, body="{}")])
    await handling.wait()
    # confirmed (journaled) and in its handler: the state a kill must not lose
    print("handling", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def dead_letters(database: Path) -> list[str]:
    if not database.exists():
        return []
    try:
        with sqlite3.connect(database) as connection:
            found = connection.execute("SELECT original_message_id FROM dead_letters").fetchall()
    except sqlite3.OperationalError:  # not migrated yet
        return []
    return [row[0] for row in found]


@pytest.mark.timeout(150)  # two process starts; generous for a loaded machine
async def test_koppel_up_handles_what_a_killed_process_left_in_its_journal(
    tmp_path: Path,
) -> None:
    # Given a process killed while its handler held a confirmed message, journaled where
    # koppel up keeps its bus (<data_dir>/bus.db)
    data = tmp_path / "data"
    marker = f"killed-{uuid4().hex[:8]}"
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PUBLISHER, str(data / "bus.db"), marker,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert child.stdout is not None
    try:
        async with asyncio.timeout(20):
            assert await child.stdout.readline() == b"handling\n"
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    # When koppel up starts on that data directory
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOPPEL_")}
    env.update(KOPPEL_LOG_JSON="false", KOPPEL_LOG_LEVEL="WARNING")
    script = Path(sys.executable).with_name("koppel")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "koppel.cli.main"]
    log = tmp_path / "up.log"
    with log.open("wb") as output:
        up = await asyncio.create_subprocess_exec(
            *command, "up", "--no-sandboxes", "--port", str(port), "--data-dir", str(data),
            env=env, cwd=tmp_path, stdout=output, stderr=output,
        )  # fmt: skip
    try:
        # Then the notifier gets the message and keeps the dead letter
        await eventually(
            lambda: marker in dead_letters(data / "notifier.db"),
            timeout=100,
            what=f"the journaled dead letter in notifier.db (koppel up's output: {log})",
        )
    finally:
        up.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(up.wait(), 20)
        except TimeoutError:
            up.kill()
            await up.wait()
    assert rows(data / "bus.db") == 0  # acknowledged, and written before the exit


async def test_a_bus_started_again_reads_its_journal_without_doubling(tmp_path: Path) -> None:
    # Given a durable bus stopped with messages still queued
    path = tmp_path / "bus.db"
    blocking = Blocking(lambda n: False)
    bus = await started(path, subscription(blocking))
    await bus.publish([config(n) for n in range(3)])
    await eventually(lambda: len(blocking.started) == 3)
    await bus.stop(timeout=0.05)
    # When the same bus object starts again
    blocking.ack = lambda n: True
    await bus.start()
    # Then each message comes once more, not twice
    await drained(bus, blocking)
    assert sorted(blocking.acked) == [-1, 0, 1, 2]
    await bus.stop()
