"""What the API gateway costs: added latency and lost throughput, measured against the service itself.

Run on demand (it is not a test): ``.venv/bin/python -m bench.gateway_overhead [--duration S]
[--rounds N] [--concurrency C] [--warmup S] [--keep-workers] [--profile] [--max-wait S]
[--wait-budget S] [--retries N]``.

What is measured, for two endpoints:

* ``POST /v1/batch`` with 100 ``track`` events of ~500 bytes each (ingest service);
* ``GET /api/customers?limit=10``, a small read (profile service).

Each endpoint is called two ways *in the same run*: **direct** (to the service's own port, with the
headers the gateway would add: ``x-workspace-id``, ``x-cdp-internal-token``, ``x-cdp-scopes: read,write``)
and **gateway** (to the gateway, with the write key as HTTP Basic user for ``/v1`` and the admin key as
Bearer for ``/api``). The machine is noisy and small (2 cores), so only the ratio between the two is
meant to be compared across runs, not the absolute figures.

Method:

1. A dedicated stack is started with the launcher on the ``bench`` profile (gateway 31000, services
   31001-31012, Kafka 30092, PostgreSQL 30433, Redis 30380) and stopped at the end. If any of those
   ports is already taken the run stops before starting anything. The gateway's rate limits are
   raised for this stack through its environment (``RATE_LIMIT_*_PER_MINUTE``; the admin key's
   default, 1,200/min, would refuse the read benchmark): the limiter still runs on every request, so
   its cost is part of what is measured.
2. 300 customers are loaded through ``/v1/batch`` (identify calls), and the run waits until
   ``GET /api/customers?limit=10`` returns 10 items. Every worker (profile, segmentation,
   campaigns, catalog, ...) is then stopped (unless ``--keep-workers``): the consumers of what ingest
   writes to Kafka are on neither measured path, and with the benchmark's events as a backlog
   they would otherwise compete for the two cores for the whole run.
3. The load generator is this process (the servers are separate processes): one
   ``httpx.AsyncClient`` per way of calling, with a connection pool as large as the concurrency, and
   N asyncio workers each sending requests back to back until the round's deadline. Authorization
   headers are computed once, so both ways cost the load generator the same.
4. Every ``/v1/batch`` body carries fresh ``messageId``s (ingest dedupes by messageId for 24 h). The
   bodies of a round are generated and serialised before the round starts (pool size: twice the
   fastest rate seen so far times the round's duration), so their generation is not measured.
5. Per endpoint: a warm-up (direct, then gateway, ``--warmup`` seconds each, at the saturating
   concurrency); then ``--rounds`` latency rounds and ``--rounds`` throughput rounds, each a pair of one
   direct and one gateway round of ``--duration`` seconds, alternating which goes first
   (D G, G D, D G, ...) so a linear drift of the machine hits both ways equally.

   The machine is shared (other test stacks may run on it). Every round records the share of the
   machine's CPU used by processes that are neither the bench stack nor this load generator
   ("foreign" CPU, from /proc/stat user+nice+system minus our processes and their children).
   Before each pair the run waits until foreign CPU is below 10 % for a second (at most
   ``--max-wait`` s per pair, ``--wait-budget`` s in all); a pair in which either round saw more than
   15 % is redone, up to ``--retries`` times, and the last attempt is used (flagged as disturbed
   when it still was). Only the pairs used count in the medians; every attempt is in the JSON.

   * Latency: concurrency 1 (sequential requests). Each latency "pair" is ONE round of twice
     ``--duration`` in which the two ways alternate request by request (D G G D D G ...), so a drift
     of the machine within the round (Kafka's flushes, other work) hits both alike; two back-to-back
     rounds saw different moments, and the batch's added p50 scattered from -0.5 to +10 ms between
     pairs. p50/p95/p99 per way per round; the added p50 is the median of the gateway rounds' p50
     minus the median of the direct rounds' p50.
   * Throughput: concurrency ``--concurrency`` (default 16, enough to saturate 2 cores); requests/s
     (and events/s for batches) counted over requests that completed successfully before the
     deadline; the throughput cost is ``1 - median(gateway req/s) / median(direct req/s)``.
   * CPU: per round, the CPU time used by the gateway, the upstream service, the whole bench stack
     (every process the launcher started, with children), the load generator and the machine,
     divided by the successful requests (ms of CPU per request). From it, a secondary figure that
     other work on the machine disturbs much less: the CPU-based cost ``1 - stack CPU per request
     direct / via gateway``, the capacity lost when the servers are CPU-bound.

6. Every response is checked (status 200; for batches ``accepted == 100``; for the read, 10 items).
   Failures are counted per round and reported; a run with any error says so loudly, marks the JSON
   ``"valid": false`` and exits with status 1.
7. Output: a table on stdout and ``bench/results/gateway_overhead.json`` (every round's numbers, the
   medians, the targets, ``nproc``, the date, the git commit, whether the tree was dirty, and a digest
   of the ``gateway/``, ``cdpkit/`` and ``services/`` sources the stack ran).
   With ``--profile``, one extra gateway throughput round per endpoint is run afterwards under
   ``py-spy record`` on the gateway process (not counted in the results); the raw stacks go to
   ``.cdp/bench/profiles/gateway_profile_<endpoint>.txt`` (git-ignored) and a summary to the JSON
   and stdout.

Targets (issue): throughput cost <= 15 %, added p50 <= 2 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from bench.gateway_bodies import (
    CUSTOMERS,
    EVENT_BYTES,
    EVENTS_PER_BATCH,
    READ_LIMIT,
    BatchBodies,
    basic_auth,
    check_batch,
    check_read,
    identify_bodies,
)
from bench.gateway_profiling import profile_gateway, render_profile
from bench.gateway_report import TARGET_ADDED_P50_MS, TARGET_THROUGHPUT_COST, render, summarise
from bench.harness import CpuSample, busy_ports, is_worker, log, percentile, pid_of, run_meta, source_digest
from deploy.launcher.layout import REPO
from deploy.launcher.stack import Stack

PROFILE = "bench"
RESULTS = REPO / "bench" / "results"
RESULT_FILE = RESULTS / "gateway_overhead.json"

MAX_ERROR_SAMPLES = 5
# Share of the machine's CPU (all cores) used by processes outside the bench stack and the load
# generator: below QUIET a pair may start; above DISTURBED during a round, its pair is redone.
QUIET_SHARE = 0.10
DISTURBED_SHARE = 0.15
# The gateway's rate limits are raised for the bench stack (the check still runs on every request,
# so its cost is measured; only the refusals are avoided). The admin key's default is 1,200/min.
GATEWAY_ENV = {
    "RATE_LIMIT_ADMIN_PER_MINUTE": "100000000",
    "RATE_LIMIT_WRITE_PER_MINUTE": "100000000",
    "RATE_LIMIT_WORKSPACE_PER_MINUTE": "100000000",
}

Check = Callable[[httpx.Response], str | None]


# ---------------------------------------------------------------------------------------------- rounds


@dataclass(frozen=True)
class Target:
    """One way of calling an endpoint."""

    mode: str  # "direct" or "gateway"
    url: str
    headers: dict[str, str]
    server_pids: dict[str, int]  # role -> pid, for CPU accounting


@dataclass(frozen=True)
class Endpoint:
    key: str
    label: str
    method: str
    direct: Target
    gateway: Target
    check: Check
    events_per_request: int = 0

    def target(self, mode: str) -> Target:
        return self.direct if mode == "direct" else self.gateway


@dataclass
class Round:
    endpoint: str
    kind: str  # "warmup", "latency" or "throughput"
    mode: str
    concurrency: int
    duration_s: float
    ok: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    pool_exhausted: bool = False
    rps: float = 0.0
    events_per_s: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    mean_ms: float = 0.0
    cpu_ms_per_request: dict[str, float] = field(default_factory=dict)
    foreign_cpu_share: float = 0.0  # of the whole machine, used by processes not ours
    steal_share: float = 0.0
    pair: int = -1
    attempt: int = 0
    disturbed: bool = False
    accepted: bool = False


async def run_round(
    client: httpx.AsyncClient,
    endpoint: Endpoint,
    mode: str,
    kind: str,
    concurrency: int,
    duration_s: float,
    bodies: list[bytes] | None,
    stack_pids: Sequence[int],
) -> Round:
    """Send requests back to back from `concurrency` workers for `duration_s` seconds."""
    target = endpoint.target(mode)
    result = Round(endpoint.key, kind, mode, concurrency, duration_s)
    latencies: list[float] = []
    supply = iter(bodies) if bodies is not None else None
    last_ok = 0.0

    async def worker() -> None:
        nonlocal last_ok
        while time.perf_counter() < deadline:
            content = None
            if supply is not None:
                content = next(supply, None)
                if content is None:
                    result.pool_exhausted = True
                    return
            started = time.perf_counter()
            problem = await send(client, endpoint, target, content)
            finished = time.perf_counter()
            if problem is not None:
                record_error(result, problem)
            elif finished <= deadline:
                result.ok += 1
                latencies.append((finished - started) * 1000)
                last_ok = finished

    before = CpuSample.take(target.server_pids, stack_pids)
    start = time.perf_counter()
    deadline = start + duration_s
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    after = CpuSample.take(target.server_pids, stack_pids)
    result.foreign_cpu_share = round(after.foreign_share(before), 3)
    result.steal_share = round(after.steal_share(before), 3)
    elapsed = (last_ok - start) if result.pool_exhausted and last_ok else duration_s
    result.duration_s = round(elapsed, 3)
    fill_latencies(result, latencies, elapsed, endpoint)
    if result.ok:
        used = {role: after.roles[role] - before.roles[role] for role in after.roles}
        used["stack"] = after.stack - before.stack
        used["loadgen"] = after.loadgen - before.loadgen
        used["machine"] = after.machine - before.machine
        result.cpu_ms_per_request = {role: round(cpu * 1000 / result.ok, 3) for role, cpu in used.items()}
    return result


async def send(
    client: httpx.AsyncClient, endpoint: Endpoint, target: Target, content: bytes | None
) -> str | None:
    """One request; what was wrong with its answer, or None."""
    try:
        response = await client.request(endpoint.method, target.url, headers=target.headers, content=content)
        return endpoint.check(response)
    except (httpx.HTTPError, ValueError) as error:
        return f"{type(error).__name__}: {error}"


def record_error(result: Round, problem: str) -> None:
    result.errors += 1
    if len(result.error_samples) < MAX_ERROR_SAMPLES:
        result.error_samples.append(problem)


def fill_latencies(result: Round, latencies: list[float], elapsed: float, endpoint: Endpoint) -> None:
    """Rate and percentiles of the successful requests' latencies (ms)."""
    latencies.sort()
    if result.ok:
        result.rps = result.ok / elapsed
        result.events_per_s = result.rps * endpoint.events_per_request
        result.p50_ms = percentile(latencies, 50)
        result.p95_ms = percentile(latencies, 95)
        result.p99_ms = percentile(latencies, 99)
        result.mean_ms = statistics.fmean(latencies)


# Request by request, the way of calling goes D G G D D G G D ...: each way follows the other as often as
# itself, so neither gains from a connection or cache the other just warmed.
_INTERLEAVE = ("direct", "gateway", "gateway", "direct")


async def run_interleaved(
    clients: dict[str, httpx.AsyncClient],
    endpoint: Endpoint,
    duration_s: float,
    bodies: list[bytes] | None,
    stack_pids: Sequence[int],
) -> tuple[Round, Round]:
    """Latency at concurrency 1 with the two ways alternating request by request, for `duration_s`.

    Drift of the machine within a round (Kafka's flushes, other work, CPU frequency) then hits both
    ways alike, where two back-to-back rounds see different moments. Returns (direct, gateway) rounds;
    their CPU is not attributed (the throughput rounds measure it).
    """
    rounds = {mode: Round(endpoint.key, "latency", mode, 1, duration_s) for mode in ("direct", "gateway")}
    latencies: dict[str, list[float]] = {mode: [] for mode in rounds}
    supply = iter(bodies) if bodies is not None else None
    before = CpuSample.take({}, stack_pids)
    started_at = time.perf_counter()
    deadline = started_at + duration_s
    sent = 0
    while time.perf_counter() < deadline:
        mode = _INTERLEAVE[sent % len(_INTERLEAVE)]
        sent += 1
        content = next(supply, None) if supply is not None else None
        if supply is not None and content is None:
            for r in rounds.values():
                r.pool_exhausted = True
            break
        started = time.perf_counter()
        problem = await send(clients[mode], endpoint, endpoint.target(mode), content)
        if problem is not None:
            record_error(rounds[mode], problem)
        else:
            rounds[mode].ok += 1
            latencies[mode].append((time.perf_counter() - started) * 1000)
    after = CpuSample.take({}, stack_pids)
    elapsed = time.perf_counter() - started_at
    for mode, result in rounds.items():
        result.foreign_cpu_share = round(after.foreign_share(before), 3)
        result.steal_share = round(after.steal_share(before), 3)
        result.duration_s = round(elapsed, 3)
        fill_latencies(result, latencies[mode], elapsed, endpoint)
    return rounds["direct"], rounds["gateway"]


# ---------------------------------------------------------------------------------------------- runner


@dataclass
class Settings:
    duration_s: float
    rounds: int
    concurrency: int
    warmup_s: float
    keep_workers: bool
    profile: bool
    max_wait_s: float
    wait_budget_s: float
    retries: int


class Runner:
    def __init__(
        self, settings: Settings, clients: dict[str, httpx.AsyncClient], stack_pids: Sequence[int]
    ) -> None:
        self.settings = settings
        self.clients = clients
        self.stack_pids = stack_pids
        self.pairs = 0
        self.waited_s = 0.0
        self.rounds: list[Round] = []
        self.batches = BatchBodies()
        self.best_rps: dict[str, float] = {}

    def _bodies(self, endpoint: Endpoint, duration_s: float) -> list[bytes] | None:
        if endpoint.key != "batch":
            return None
        rate = self.best_rps.get(endpoint.key, 200.0)
        count = int(rate * duration_s * 2) + self.settings.concurrency + 20
        return self.batches.make(count)

    async def one(self, endpoint: Endpoint, mode: str, kind: str, concurrency: int, duration: float) -> Round:
        bodies = self._bodies(endpoint, duration)
        result = await run_round(
            self.clients[mode], endpoint, mode, kind, concurrency, duration, bodies, self.stack_pids
        )
        self.best_rps[endpoint.key] = max(self.best_rps.get(endpoint.key, 0.0), result.rps)
        self.rounds.append(result)
        flag = f"  ERRORS {result.errors}: {result.error_samples[:1]}" if result.errors else ""
        flag += "  (body pool exhausted)" if result.pool_exhausted else ""
        log(
            f"{endpoint.key:5} {kind:10} {mode:7} c={concurrency:<3} {result.rps:7.1f} req/s  "
            f"p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms  "
            f"foreign cpu {result.foreign_cpu_share * 100:3.0f} %{flag}"
        )
        return result

    async def interleaved(self, endpoint: Endpoint, duration: float) -> list[Round]:
        """One latency round of both ways alternating request by request (see `run_interleaved`)."""
        bodies = self._bodies(endpoint, duration)
        found = await run_interleaved(self.clients, endpoint, duration, bodies, self.stack_pids)
        self.rounds += found
        d, g = found
        log(
            f"{endpoint.key:5} latency    interleaved c=1  p50 direct {d.p50_ms:6.2f} ms  "
            f"gateway {g.p50_ms:6.2f} ms  ({d.ok}+{g.ok} requests, {d.errors + g.errors} errors)  "
            f"foreign cpu {d.foreign_cpu_share * 100:3.0f} %"
        )
        return list(found)

    async def wait_quiet(self) -> None:
        """Wait (at most --max-wait seconds) until other work on the machine leaves it alone."""
        started = time.monotonic()
        told = False
        while True:
            before = CpuSample.take({}, self.stack_pids)
            await asyncio.sleep(1.0)
            share = CpuSample.take({}, self.stack_pids).foreign_share(before)
            waited = time.monotonic() - started
            spent = self.waited_s + waited >= self.settings.wait_budget_s
            if share <= QUIET_SHARE or waited >= self.settings.max_wait_s or spent:
                if told:
                    log(f"  ...went on after {waited:.0f} s (foreign cpu {share * 100:.0f} %)")
                self.waited_s += waited
                return
            if not told:
                log(f"  other work uses {share * 100:.0f} % of the machine; waiting for it to finish")
                told = True

    async def pair(self, endpoint: Endpoint, kind: str, concurrency: int, order: Sequence[str]) -> None:
        """One direct and one gateway round back to back, redone if other work disturbed it."""
        index, self.pairs = self.pairs, self.pairs + 1
        for attempt in range(self.settings.retries + 1):
            await self.wait_quiet()
            if kind == "latency":
                rounds = await self.interleaved(endpoint, 2 * self.settings.duration_s)
            else:
                rounds = [
                    await self.one(endpoint, m, kind, concurrency, self.settings.duration_s) for m in order
                ]
            disturbed = any(r.foreign_cpu_share > DISTURBED_SHARE for r in rounds)
            for r in rounds:
                r.pair, r.attempt, r.disturbed = index, attempt, disturbed
            if not disturbed:
                break
            if attempt < self.settings.retries:
                log("  pair disturbed by other work on the machine; redoing it")
        for r in rounds:
            r.accepted = True

    async def endpoint(self, endpoint: Endpoint) -> None:
        s = self.settings
        # The first warm-up pass sizes the body pool; the second one starts from that rate.
        self.best_rps.setdefault(endpoint.key, 100.0)
        for mode in ("direct", "gateway"):
            await self.one(endpoint, mode, "warmup", s.concurrency, s.warmup_s)
        for kind, concurrency in (("latency", 1), ("throughput", s.concurrency)):
            for index in range(s.rounds):
                order = ("direct", "gateway") if index % 2 == 0 else ("gateway", "direct")
                await self.pair(endpoint, kind, concurrency, order)


async def load_customers(client: httpx.AsyncClient, stack: Stack, admin: dict[str, str]) -> None:
    write = {"authorization": basic_auth(stack.credentials.write_key), "content-type": "application/json"}
    for body in identify_bodies():
        response = await client.post(f"{stack.gateway_url}/v1/batch", content=body, headers=write)
        response.raise_for_status()
    deadline = time.monotonic() + 180
    while True:
        response = await client.get(
            f"{stack.gateway_url}/api/customers", params={"limit": READ_LIMIT}, headers=admin
        )
        if response.status_code == 200 and len(response.json().get("items", [])) == READ_LIMIT:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"customers not visible after 180 s: {response.status_code} {response.text}")
        await asyncio.sleep(0.5)


async def benchmark(stack: Stack, settings: Settings) -> dict[str, Any]:
    admin = {"authorization": f"Bearer {stack.credentials.admin_key}"}
    async with httpx.AsyncClient(timeout=30) as setup:
        response = await setup.get(f"{stack.gateway_url}/api/workspaces/current", headers=admin)
        response.raise_for_status()
        workspace_id = response.json()["id"]
        log(f"workspace {workspace_id}; loading {CUSTOMERS} customers")
        await load_customers(setup, stack, admin)
    if not settings.keep_workers:
        workers = [p for p in stack.procs if is_worker(p.name)]
        for worker in workers:
            worker.stop()
            stack.procs.remove(worker)
        log(f"{len(workers)} workers stopped (they are on neither measured path)")

    internal = {
        "x-workspace-id": workspace_id,
        "x-cdp-internal-token": stack.credentials.internal_token,
        "x-cdp-scopes": "read,write",
    }
    gateway_pid = pid_of(stack, "gateway")
    json_type = {"content-type": "application/json"}
    batch = Endpoint(
        key="batch",
        label=f"POST /v1/batch ({EVENTS_PER_BATCH} events of ~{EVENT_BYTES} bytes)",
        method="POST",
        direct=Target(
            "direct",
            f"{stack.service_url('ingest')}/v1/batch",
            {**internal, **json_type},
            {"service": pid_of(stack, "ingest")},
        ),
        gateway=Target(
            "gateway",
            f"{stack.gateway_url}/v1/batch",
            {"authorization": basic_auth(stack.credentials.write_key), **json_type},
            {"gateway": gateway_pid, "service": pid_of(stack, "ingest")},
        ),
        check=check_batch,
        events_per_request=EVENTS_PER_BATCH,
    )
    read = Endpoint(
        key="read",
        label=f"GET /api/customers?limit={READ_LIMIT}",
        method="GET",
        direct=Target(
            "direct",
            f"{stack.service_url('profile')}/api/customers?limit={READ_LIMIT}",
            internal,
            {"service": pid_of(stack, "profile")},
        ),
        gateway=Target(
            "gateway",
            f"{stack.gateway_url}/api/customers?limit={READ_LIMIT}",
            admin,
            {"gateway": gateway_pid, "service": pid_of(stack, "profile")},
        ),
        check=check_read,
    )
    # uvicorn drops a connection idle for 5 s; one reused at that moment fails without an answer.
    # Between rounds (waiting for a quiet machine) connections idle that long, so never reuse them.
    limits = httpx.Limits(
        max_connections=settings.concurrency,
        max_keepalive_connections=settings.concurrency,
        keepalive_expiry=2.0,
    )
    clients = {mode: httpx.AsyncClient(limits=limits, timeout=30) for mode in ("direct", "gateway")}
    stack_pids = [p.popen.pid for p in stack.procs if p.popen is not None]
    runner = Runner(settings, clients, stack_pids)
    profiles: dict[str, Any] = {}
    try:
        for endpoint in (batch, read):
            await runner.endpoint(endpoint)
        if settings.profile:
            for endpoint in (batch, read):
                found = await profile_gateway(runner, endpoint, gateway_pid)
                if found:
                    profiles[endpoint.key] = found
    finally:
        for client in clients.values():
            await client.aclose()

    measured = [r for r in runner.rounds if r.accepted]
    return {
        "endpoints": {e.key: summarise(e, measured) for e in (batch, read)},
        "errors": sum(r.errors for r in runner.rounds),
        "rounds": [asdict(r) for r in runner.rounds],
        "profile": profiles,
        "batch_sizes": runner.batches.sizes(),
        "waited_for_quiet_s": round(runner.waited_s, 1),
    }


# ---------------------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> Settings:
    parser = argparse.ArgumentParser(
        prog="python -m bench.gateway_overhead", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per round (default 8)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per way and measure (default 3)")
    parser.add_argument("--concurrency", type=int, default=16, help="workers for throughput (default 16)")
    parser.add_argument("--warmup", type=float, default=4.0, help="warm-up seconds per way (default 4)")
    parser.add_argument("--keep-workers", action="store_true", help="leave the services' workers running")
    parser.add_argument(
        "--max-wait", type=float, default=120.0, help="most seconds to wait for a quiet machine per pair"
    )
    parser.add_argument(
        "--wait-budget", type=float, default=900.0, help="most seconds to wait for quiet in the whole run"
    )
    parser.add_argument("--retries", type=int, default=2, help="redos of a disturbed pair (default 2)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="afterwards, py-spy the gateway during one more round per endpoint",
    )
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.rounds < 1 or args.concurrency < 1 or args.warmup < 0 or args.retries < 0:
        parser.error("duration and warmup must be positive, rounds and concurrency at least 1")
    return Settings(
        duration_s=args.duration,
        rounds=args.rounds,
        concurrency=args.concurrency,
        warmup_s=args.warmup,
        keep_workers=args.keep_workers,
        profile=args.profile,
        max_wait_s=args.max_wait,
        wait_budget_s=args.wait_budget,
        retries=args.retries,
    )


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_args(argv)
    if busy := busy_ports(PROFILE):
        log(f"ports of the {PROFILE} profile are already in use: {busy}. Is another bench stack running?")
        log("Not starting anything; stop whatever holds them (`python -m deploy.launcher down`?) and retry.")
        return 2
    started = time.monotonic()
    load_before = os.getloadavg()
    os.environ.update(GATEWAY_ENV)  # inherited by the stack's processes; only the gateway reads them
    sources = source_digest()
    stack = Stack.for_profile(PROFILE)
    try:
        log("starting the bench stack")
        stack.up()
        log(f"stack up in {time.monotonic() - started:.1f} s ({stack.timings})")
        measured = asyncio.run(benchmark(stack, settings))
    finally:
        log("stopping the bench stack")
        stack.down()

    result: dict[str, Any] = {
        "meta": {
            "benchmark": "gateway_overhead",
            **run_meta(),
            "python": sys.version.split()[0],
            "duration_s": settings.duration_s,
            "rounds": settings.rounds,
            "concurrency": settings.concurrency,
            "warmup_s": settings.warmup_s,
            "workers_stopped": not settings.keep_workers,
            "gateway_env": GATEWAY_ENV,
            "source_sha256": sources,
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "quiet_share": QUIET_SHARE,
            "disturbed_share": DISTURBED_SHARE,
            "waited_for_quiet_s": measured.pop("waited_for_quiet_s"),
            "wall_s": round(time.monotonic() - started, 1),
            "targets": {
                "throughput_cost_max": TARGET_THROUGHPUT_COST,
                "added_p50_ms_max": TARGET_ADDED_P50_MS,
            },
            **measured.pop("batch_sizes"),
        },
        **measured,
    }
    result["valid"] = result["errors"] == 0
    RESULTS.mkdir(parents=True, exist_ok=True)
    RESULT_FILE.write_text(json.dumps(result, indent=2) + "\n")
    print(render(result))
    for key, summary in result["profile"].items():
        print(render_profile(key, summary))
    print(f"\nwritten: {RESULT_FILE.relative_to(REPO)}")
    return 0 if result["valid"] else 1


if __name__ == "__main__":
    sys.exit(main())
