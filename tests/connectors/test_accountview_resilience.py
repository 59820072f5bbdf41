"""AccountView connector under injected faults and under the sandbox's rate limit."""

from __future__ import annotations

import asyncio
from datetime import datetime

from koppel.connectors.accountview import Contact
from koppel.connectors.common import ScaledClock

from .conftest import Sandbox, SandboxTokenProvider, make_av_client

N_CREATES = 500


async def test_500_creates_under_faults_each_exactly_once(av_sandbox: Sandbox) -> None:
    # Given 20% 5xx (half of them after the write committed), 10% 429, 5% timeouts
    await av_sandbox.faults(
        error_5xx=0.10,
        error_5xx_after_write=0.10,
        rate_429=0.10,
        timeout=0.05,
        timeout_seconds=5.0,
        seed=7,
    )
    # The 429s ask for 30 s; the connector's clock runs 1000x so that is 0.03 s here.
    av = make_av_client(
        av_sandbox,
        clock=ScaledClock(1000),
        total_timeout_seconds=0.25,
        max_attempts=10,
        max_in_flight=8,
    )

    # When 500 debtors are created concurrently, each by its deterministic key (e-mail)
    async def create(i: int) -> bool:
        contact = Contact(
            ACCT_NAME=f"Chaos {i}",
            SRC_CODE="CHAOS",
            ACCT_NR="1300",
            MAIL_BUS=f"chaos{i}@example.nl",
        )
        return (await av.create_debtor_once(contact)).created

    results = await asyncio.gather(*(create(i) for i in range(N_CREATES)))
    injected = (await av_sandbox.admin_json("GET", "/_sandbox/faults"))["injected"]
    await av_sandbox.faults()
    await av.aclose()

    # Then every record exists exactly once, in a bounded number of attempts
    state = await av_sandbox.admin_json("GET", "/_sandbox/state", params={"table": "CONTACT"})
    rows = next(c for c in state["companies"] if c["Code"] == "KOPPELDEMO")["tables"]["CONTACT"]
    mails = [r["MAIL_BUS"] for r in rows if r["MAIL_BUS"].startswith("chaos")]
    assert len(mails) == N_CREATES
    assert len(set(mails)) == N_CREATES
    attempts = av.http.attempts
    print(
        f"\n[av chaos] creates={N_CREATES} http_attempts={attempts} per_record={attempts / N_CREATES:.2f} "
        f"created_by_post={sum(results)} found_after_ambiguous={N_CREATES - sum(results)} injected={injected}"
    )
    assert injected.get("error_5xx_after_write", 0) > 0
    assert injected.get("timeout", 0) > 0
    assert attempts < N_CREATES * 4  # a lookup and a create per record, plus bounded retries


async def sandbox_times(sandbox: Sandbox) -> list[datetime]:
    log = await sandbox.admin_json("GET", "/_sandbox/requests", params={"limit": 100000})
    return sorted(datetime.fromisoformat(e["at"].replace("Z", "+00:00")) for e in log["entries"])


async def test_burst_stays_under_the_limit_at_full_throughput(av_sandbox: Sandbox) -> None:
    # Given the sandbox enforcing 60 requests/minute per client, its clock running 60x
    limit, scale, n = 60, 60.0, 180
    await av_sandbox.admin_json("POST", "/_sandbox/knobs", json={"rate_limit_per_minute": limit})
    await av_sandbox.admin_json("POST", "/_sandbox/clock", json={"time_scale": scale})
    av = make_av_client(
        av_sandbox,
        clock=ScaledClock(scale),
        rate_limit_requests=limit,
        rate_limit_window_seconds=60.0,
    )
    await av.company_id()
    await av_sandbox.admin.delete("/_sandbox/requests")

    # When a burst of reads arrives at once
    await asyncio.gather(*(av.get_article(f"ART-{1 + i % 50:04d}") for i in range(n)))
    await av.aclose()

    # Then no 429 was ever received, and the sustained rate is the limit
    assert av.http.responses_by_status.get(429, 0) == 0
    times = await sandbox_times(av_sandbox)
    assert len(times) == n
    rel = [(t - times[0]).total_seconds() for t in times]
    # Throughput over the first two full windows (sandbox minutes) of the burst.
    sustained = sum(1 for r in rel if r < 120.0) / 2
    print(
        f"\n[av rate] limit={limit}/min sent={n} 429s=0 throughput={sustained:.1f}/min "
        f"({sustained / limit:.1%} of limit); window starts at {[round(r) for r in rel[::limit]]} s"
    )
    assert 0.9 * limit <= sustained <= limit


async def test_one_tenants_backlog_does_not_delay_another(av_sandbox: Sandbox) -> None:
    # Given two tenants on the same sandbox, each with its own token and bucket
    limit, scale = 20, 60.0
    await av_sandbox.admin_json("POST", "/_sandbox/knobs", json={"rate_limit_per_minute": limit})
    await av_sandbox.admin_json("POST", "/_sandbox/clock", json={"time_scale": scale})
    clock = ScaledClock(scale)
    busy = make_av_client(av_sandbox, clock=clock, rate_limit_requests=limit)
    other_sandbox_tokens = SandboxTokenProvider(av_sandbox.admin)
    quiet = make_av_client(av_sandbox, clock=clock, rate_limit_requests=limit)
    quiet.http._tokens = other_sandbox_tokens
    quiet.http.registry = busy.http.registry  # one process-wide registry
    done: list[str] = []

    async def read(client: object, tag: str) -> None:
        await client.get_article("ART-0001")  # type: ignore[attr-defined]
        done.append(tag)

    # When the busy tenant queues three windows of work and the quiet one asks for a little
    busy_task = asyncio.gather(*(read(busy, "busy") for _ in range(3 * limit // 2)))
    await asyncio.sleep(0)
    await asyncio.gather(*(read(quiet, "quiet") for _ in range(5)))
    await busy_task
    await busy.aclose()
    await quiet.aclose()

    # Then the quiet tenant finished before the busy one's backlog drained, without 429s
    assert done.index("quiet") < len(done) - 5
    assert done[-1] == "busy"
    assert busy.http.responses_by_status.get(429, 0) == 0
    assert quiet.http.responses_by_status.get(429, 0) == 0
