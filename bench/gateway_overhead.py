"""What the API gateway costs: added latency and lost throughput, measured against the service itself.

Run on demand (it is not a test): ``.venv/bin/python -m bench.gateway_overhead [--duration S]
[--rounds N] [--concurrency C] [--warmup S] [--keep-worker] [--profile] [--max-wait S]
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

1. A dedicated stack is started with the launcher on the ``bench`` profile (gateway 38000, services
   38001-38012, Kafka 39092, PostgreSQL 35433, Redis 36380) and stopped at the end. If any of those
   ports is already taken the run stops before starting anything. The gateway's rate limits are
   raised for this stack through its environment (``RATE_LIMIT_*_PER_MINUTE``; the admin key's
   default, 1,200/min, would refuse the read benchmark): the limiter still runs on every request, so
   its cost is part of what is measured.
2. 300 customers are loaded through ``/v1/batch`` (identify calls), and the run waits until
   ``GET /api/customers?limit=10`` returns 10 items. The profile worker is then stopped (unless
   ``--keep-worker``): it is on neither measured path, and with the benchmark's events as a backlog
   it would otherwise keep one of the two cores busy for the whole run.
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

   * Latency: concurrency 1 (sequential requests); p50/p95/p99 per round; the added p50 is the
     median of the gateway rounds' p50 minus the median of the direct rounds' p50.
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
import base64
import collections
import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil

from deploy.launcher.layout import PROFILES, REPO, STATE
from deploy.launcher.processes import port_open
from deploy.launcher.stack import Stack

PROFILE = "bench"
RESULTS = REPO / "bench" / "results"
RESULT_FILE = RESULTS / "gateway_overhead.json"
PROFILES_DIR = STATE / PROFILE / "profiles"  # raw py-spy stacks: large, kept out of the repository

EVENTS_PER_BATCH = 100
EVENT_BYTES = 500
CUSTOMERS = 300
READ_LIMIT = 10
TARGET_THROUGHPUT_COST = 0.15
TARGET_ADDED_P50_MS = 2.0
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


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------- bodies


def _user(index: int) -> str:
    return f"bench-customer-{index % CUSTOMERS:04d}"


def _track_event(index: int, padding: str) -> dict[str, Any]:
    return {
        "type": "track",
        "messageId": f"bench-{uuid.uuid4().hex}",
        "userId": _user(index),
        "event": "Product Viewed",
        "timestamp": "2025-01-15T10:20:30.000Z",
        "properties": {
            "product_id": f"sku-{index % 5000:05d}",
            "name": "Wool sweater",
            "category": "Apparel",
            "price": 89.9,
            "currency": "EUR",
            "url": f"https://shop.example.com/p/sku-{index % 5000:05d}",
            "note": padding,
        },
        "context": {
            "ip": "203.0.113.7",
            "library": {"name": "analytics.js", "version": "4.1.0"},
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        },
    }


def _padding() -> str:
    """Filler that brings one serialised event to EVENT_BYTES."""
    bare = len(orjson.dumps(_track_event(0, "")))
    if bare > EVENT_BYTES:
        raise ValueError(f"the event template alone is {bare} bytes, over EVENT_BYTES={EVENT_BYTES}")
    return "x" * (EVENT_BYTES - bare)


class BatchBodies:
    """Serialised /v1/batch bodies, each with EVENTS_PER_BATCH fresh messageIds."""

    def __init__(self) -> None:
        self.padding = _padding()
        self.counter = 0

    def make(self, count: int) -> list[bytes]:
        bodies = []
        for _ in range(count):
            events = [_track_event(self.counter + i, self.padding) for i in range(EVENTS_PER_BATCH)]
            self.counter += EVENTS_PER_BATCH
            bodies.append(orjson.dumps({"batch": events}))
        return bodies

    def sizes(self) -> dict[str, int]:
        body = self.make(1)[0]
        event = len(orjson.dumps(_track_event(0, self.padding)))
        return {"event_bytes": event, "body_bytes": len(body)}


def identify_bodies() -> list[bytes]:
    """CUSTOMERS identify calls, in batches of 100, for the read benchmark's data."""
    calls = [
        {
            "type": "identify",
            "messageId": f"bench-load-{uuid.uuid4().hex}",
            "userId": _user(i),
            "traits": {"email": f"{_user(i)}@example.com", "first_name": f"Customer {i}"},
        }
        for i in range(CUSTOMERS)
    ]
    return [orjson.dumps({"batch": calls[i : i + 100]}) for i in range(0, len(calls), 100)]


def check_batch(response: httpx.Response) -> str | None:
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    accepted = orjson.loads(response.content).get("accepted")
    if accepted != EVENTS_PER_BATCH:
        return f"accepted={accepted} (expected {EVENTS_PER_BATCH}): {response.text[:200]}"
    return None


def check_read(response: httpx.Response) -> str | None:
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    items = orjson.loads(response.content).get("items")
    if not isinstance(items, list) or len(items) != READ_LIMIT:
        return f"expected {READ_LIMIT} items, got {len(items) if isinstance(items, list) else items!r}"
    return None


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


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted sequence."""
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def _cpu_seconds(pid: int) -> float:
    """CPU time of a process and its children (PostgreSQL-style servers fork)."""
    try:
        proc = psutil.Process(pid)
        total = sum(proc.cpu_times()[:2])
        for child in proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += sum(child.cpu_times()[:2])
        return total
    except psutil.Error:
        return 0.0


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds used so far: by each role's process, the whole stack, us, and the machine."""

    wall: float
    roles: dict[str, float]
    stack: float
    loadgen: float
    processes: float  # user + nice + system of the machine: what processes can be charged with
    machine: float  # processes + irq + softirq (loopback networking is partly softirq)
    steal: float

    @classmethod
    def take(cls, roles: dict[str, int], stack_pids: Sequence[int]) -> CpuSample:
        times = psutil.cpu_times()
        processes = times.user + times.nice + times.system
        return cls(
            wall=time.perf_counter(),
            roles={role: _cpu_seconds(pid) for role, pid in roles.items()},
            stack=sum(_cpu_seconds(pid) for pid in stack_pids),
            loadgen=sum(psutil.Process().cpu_times()[:2]),
            processes=processes,
            machine=processes + getattr(times, "irq", 0.0) + getattr(times, "softirq", 0.0),
            steal=getattr(times, "steal", 0.0),
        )

    def foreign_share(self, before: CpuSample) -> float:
        """Share of the machine used since `before` by processes outside the stack and this one."""
        ours = (self.stack - before.stack) + (self.loadgen - before.loadgen)
        capacity = max(1e-9, (self.wall - before.wall) * _nproc())
        return max(0.0, (self.processes - before.processes) - ours) / capacity

    def steal_share(self, before: CpuSample) -> float:
        return max(0.0, self.steal - before.steal) / max(1e-9, (self.wall - before.wall) * _nproc())


def _nproc() -> int:
    """What `nproc` prints: the CPUs this process may run on."""
    return len(os.sched_getaffinity(0))


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
            try:
                response = await client.request(
                    endpoint.method, target.url, headers=target.headers, content=content
                )
                problem = endpoint.check(response)
            except (httpx.HTTPError, ValueError) as error:
                problem = f"{type(error).__name__}: {error}"
            finished = time.perf_counter()
            if problem is not None:
                result.errors += 1
                if len(result.error_samples) < MAX_ERROR_SAMPLES:
                    result.error_samples.append(problem)
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
    latencies.sort()
    if result.ok:
        result.rps = result.ok / elapsed
        result.events_per_s = result.rps * endpoint.events_per_request
        result.p50_ms = percentile(latencies, 50)
        result.p95_ms = percentile(latencies, 95)
        result.p99_ms = percentile(latencies, 99)
        result.mean_ms = statistics.fmean(latencies)
        used = {role: after.roles[role] - before.roles[role] for role in after.roles}
        used["stack"] = after.stack - before.stack
        used["loadgen"] = after.loadgen - before.loadgen
        used["machine"] = after.machine - before.machine
        result.cpu_ms_per_request = {role: round(cpu * 1000 / result.ok, 3) for role, cpu in used.items()}
    return result


# ---------------------------------------------------------------------------------------------- runner


@dataclass
class Settings:
    duration_s: float
    rounds: int
    concurrency: int
    warmup_s: float
    keep_worker: bool
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
            rounds = [await self.one(endpoint, m, kind, concurrency, self.settings.duration_s) for m in order]
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


# ---------------------------------------------------------------------------------------------- summary


def _median(rounds: list[Round], attribute: str) -> float:
    return statistics.median(getattr(r, attribute) for r in rounds) if rounds else float("nan")


def summarise(endpoint: Endpoint, rounds: list[Round]) -> dict[str, Any]:
    def pick(kind: str, mode: str) -> list[Round]:
        return [r for r in rounds if r.endpoint == endpoint.key and r.kind == kind and r.mode == mode]

    out: dict[str, Any] = {"label": endpoint.label}
    for mode in ("direct", "gateway"):
        latency, throughput = pick("latency", mode), pick("throughput", mode)
        cpu_roles = sorted({role for r in throughput for role in r.cpu_ms_per_request})
        out[mode] = {
            "p50_ms": round(_median(latency, "p50_ms"), 3),
            "p95_ms": round(_median(latency, "p95_ms"), 3),
            "p99_ms": round(_median(latency, "p99_ms"), 3),
            "rps": round(_median(throughput, "rps"), 1),
            "events_per_s": round(_median(throughput, "events_per_s"), 1),
            "saturated_p50_ms": round(_median(throughput, "p50_ms"), 2),
            "cpu_ms_per_request": {
                role: round(statistics.median(r.cpu_ms_per_request.get(role, 0.0) for r in throughput), 3)
                for role in cpu_roles
            },
            "errors": sum(r.errors for r in rounds if r.endpoint == endpoint.key and r.mode == mode),
        }
    direct, gateway = out["direct"], out["gateway"]
    cost = 1 - gateway["rps"] / direct["rps"] if direct["rps"] else float("nan")
    added = gateway["p50_ms"] - direct["p50_ms"]

    def pairs(kind: str) -> list[tuple[Round, Round]]:
        by_pair = {r.pair: r for r in pick(kind, "direct")}
        return [(by_pair[g.pair], g) for g in pick(kind, "gateway") if g.pair in by_pair]

    pair_costs = [1 - g.rps / d.rps for d, g in pairs("throughput") if d.rps]
    pair_added = [g.p50_ms - d.p50_ms for d, g in pairs("latency")]
    out["throughput_cost"] = round(cost, 4)
    # Secondary, less sensitive to other work on the machine: the capacity lost when the server side is
    # CPU-bound, from the CPU the whole bench stack spends per request (process CPU times).
    stack_direct = direct["cpu_ms_per_request"].get("stack", 0.0)
    stack_gateway = gateway["cpu_ms_per_request"].get("stack", 0.0)
    out["cpu_based_cost"] = round(1 - stack_direct / stack_gateway, 4) if stack_gateway else None
    out["throughput_cost_per_pair"] = [round(c, 4) for c in pair_costs]
    out["added_p50_ms"] = round(added, 3)
    out["added_p50_ms_per_pair"] = [round(a, 3) for a in pair_added]
    out["gateway_cpu_ms_per_request"] = gateway["cpu_ms_per_request"].get("gateway", 0.0)
    out["disturbed_pairs_used"] = len(
        {(r.kind, r.pair) for r in rounds if r.endpoint == endpoint.key and r.disturbed}
    )
    out["meets_throughput_target"] = cost <= TARGET_THROUGHPUT_COST
    out["meets_latency_target"] = added <= TARGET_ADDED_P50_MS
    return out


def render(result: dict[str, Any]) -> str:
    meta = result["meta"]
    lines = [
        "",
        f"Gateway overhead — {meta['date']}  commit {meta['commit']}"
        f"{' (dirty tree)' if meta['dirty'] else ''}  nproc {meta['nproc']}",
        f"{meta['rounds']} rounds x {meta['duration_s']:g} s per way, interleaved; latency at concurrency 1, "
        f"throughput at concurrency {meta['concurrency']}; medians of rounds",
    ]
    for summary in result["endpoints"].values():
        d, g = summary["direct"], summary["gateway"]
        ok_cost = "ok" if summary["meets_throughput_target"] else "MISSED"
        ok_p50 = "ok" if summary["meets_latency_target"] else "MISSED"
        pairs = summary["throughput_cost_per_pair"]
        spread = f"pairs {min(pairs) * 100:.1f}..{max(pairs) * 100:.1f} %" if pairs else ""
        lines += [
            "",
            summary["label"],
            f"  {'':28}{'direct':>12}{'gateway':>12}",
            f"  {'p50 latency (ms)':28}{d['p50_ms']:12.2f}{g['p50_ms']:12.2f}"
            f"   added p50 {summary['added_p50_ms']:+.2f} ms (target <= {TARGET_ADDED_P50_MS:g}) {ok_p50}",
            f"  {'p95 latency (ms)':28}{d['p95_ms']:12.2f}{g['p95_ms']:12.2f}",
            f"  {'p99 latency (ms)':28}{d['p99_ms']:12.2f}{g['p99_ms']:12.2f}",
            f"  {'throughput (req/s)':28}{d['rps']:12.1f}{g['rps']:12.1f}"
            f"   cost {summary['throughput_cost'] * 100:.1f} % "
            f"(target <= {TARGET_THROUGHPUT_COST * 100:g} %) {ok_cost}; {spread}",
        ]
        if summary["cpu_based_cost"] is not None:
            lines.append(
                f"  {'':52}CPU-based cost {summary['cpu_based_cost'] * 100:.1f} % "
                "(1 - stack CPU/request direct / via gateway)"
            )
        if d["events_per_s"]:
            lines.append(f"  {'throughput (events/s)':28}{d['events_per_s']:12.0f}{g['events_per_s']:12.0f}")
        for role in ("gateway", "service", "stack", "loadgen", "machine"):
            if role in d["cpu_ms_per_request"] or role in g["cpu_ms_per_request"]:
                lines.append(
                    f"  {f'CPU ms/request: {role}':28}{d['cpu_ms_per_request'].get(role, 0.0):12.2f}"
                    f"{g['cpu_ms_per_request'].get(role, 0.0):12.2f}"
                )
        lines.append(f"  {'errors':28}{d['errors']:12d}{g['errors']:12d}")
        if summary["disturbed_pairs_used"]:
            lines.append(
                f"  WARNING: {summary['disturbed_pairs_used']} of the pairs used were disturbed by other "
                "work on the machine (see foreign_cpu_share in the JSON)"
            )
    if result["errors"]:
        lines += [
            "",
            "!" * 100,
            f"!!! {result['errors']} FAILED REQUESTS — THESE RESULTS ARE NOT VALID "
            "(see error_samples in the JSON)",
            "!" * 100,
        ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- profile


# Stages of a proxied request, found by a frame anywhere in a sampled stack (file paths as py-spy
# shortens them). py-spy --nonblocking truncates some stacks, so these are lower bounds.
PROFILE_STAGES = {
    "upstream request (httpx AsyncClient.send and its response stream)": ("(httpx/", "(httpcore/"),
    "  of which httpcore current_async_library (a failing `import sniffio` per call)": (
        "current_async_library (httpcore/",
    ),
    "server-side HTTP parsing/writing (h11)": ("(h11/",),
    "Redis calls (rate limiter)": ("(redis/",),
    "PostgreSQL (key lookups on cache misses)": ("(sqlalchemy/", "(asyncpg/"),
    "failed imports anywhere (importlib path scans)": ("_find_and_load (<frozen importlib",),
    "JSON (de)serialisation": ("(json/", "orjson"),
    "gateway's own modules (gateway/)": ("(gateway/",),
    "FastAPI/Starlette routing and middleware (inclusive)": ("(fastapi/", "(starlette/"),
}


def summarise_profile(raw: Path, top: int = 15) -> dict[str, Any]:
    """Where the gateway's CPU goes, from py-spy's raw (collapsed) stacks."""
    self_time: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    by_package: collections.Counter[str] = collections.Counter()
    stages: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if f and not f.startswith("process ")]
        if not frames:
            continue
        total += count
        self_time[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
        for stage, needles in PROFILE_STAGES.items():
            if any(needle in frame for frame in frames for needle in needles):
                stages[stage] += count
        leaf_file = frames[-1].rpartition("(")[2].split(":")[0]
        by_package[leaf_file.split("/")[0] if "/" in leaf_file else f"stdlib:{leaf_file}"] += count

    def share(counter: collections.Counter[str], n: int) -> list[tuple[str, float]]:
        return [(name, round(100 * c / total, 1)) for name, c in counter.most_common(n)] if total else []

    packages: collections.Counter[str] = collections.Counter()
    for name, c in by_package.items():
        packages[name.split(".")[0] if name.startswith("stdlib:") else name] += c
    repo_frames = collections.Counter(
        {frame: c for frame, c in inclusive.items() if "(gateway/" in frame or "(cdpkit/" in frame}
    )
    return {
        "samples": total,
        "stages_pct": {
            stage: round(100 * stages[stage] / total, 1) if total else 0.0 for stage in PROFILE_STAGES
        },
        "self_by_package_pct": share(packages, top),
        "self_by_function_pct": share(self_time, top),
        "inclusive_repo_functions_pct": share(repo_frames, top),
    }


def _py_spy() -> str | None:
    """py-spy from this virtualenv, else from PATH."""
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


async def profile_gateway(runner: Runner, endpoint: Endpoint, gateway_pid: int) -> dict[str, Any] | None:
    py_spy = _py_spy()
    if py_spy is None:
        log("py-spy not found; skipping the profile (pip install py-spy into .venv)")
        return None
    PROFILES_DIR.mkdir(parents=True, exist_ok=True)
    out = PROFILES_DIR / f"gateway_profile_{endpoint.key}.txt"
    duration = max(5, int(runner.settings.duration_s))
    spy = await asyncio.create_subprocess_exec(
        py_spy,
        "record",
        "--pid",
        str(gateway_pid),
        "--duration",
        str(duration),
        "--rate",
        "250",
        "--nonblocking",
        "--format",
        "raw",
        "--output",
        str(out),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    await asyncio.sleep(0.5)
    await runner.one(endpoint, "gateway", "profiled", runner.settings.concurrency, duration)
    _, stderr = await spy.communicate()
    if spy.returncode != 0 or not out.exists():
        log(f"py-spy failed: {stderr.decode(errors='replace')[-500:]}")
        return None
    summary = summarise_profile(out)
    summary["raw_file"] = str(out.relative_to(REPO))
    return summary


def render_profile(key: str, summary: dict[str, Any]) -> str:
    lines = ["", f"py-spy on the gateway during a {key} throughput round ({summary['samples']} samples)"]
    lines.append(
        "  self time by package: " + ", ".join(f"{n} {p}%" for n, p in summary["self_by_package_pct"])
    )
    lines.append("  share of samples whose stack is in:")
    lines += [f"    {p:5.1f} %  {n}" for n, p in summary["stages_pct"].items()]
    lines.append("  self time, top functions:")
    lines += [f"    {p:5.1f} %  {n}" for n, p in summary["self_by_function_pct"][:10]]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- stack


def busy_ports() -> list[int]:
    ports = PROFILES[PROFILE]
    wanted = [ports.kafka, ports.kafka_controller, ports.postgres, ports.redis, ports.gateway]
    wanted += [ports.service(offset) for offset in (1, 2, 3, 4, 5, 12)]
    return [port for port in wanted if port_open(port)]


def _pid(stack: Stack, name: str) -> int:
    proc = next(p for p in stack.procs if p.name == name)
    assert proc.popen is not None
    return proc.popen.pid


def source_digest() -> str:
    """A digest of the code the stack runs (the tree may be dirty): gateway/, cdpkit/, services/."""
    digest = hashlib.sha256()
    for folder in ("gateway", "cdpkit", "services"):
        for path in sorted((REPO / folder).rglob("*.py")):
            digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return ""


async def load_customers(client: httpx.AsyncClient, stack: Stack, admin: dict[str, str]) -> None:
    write = {"authorization": _basic(stack.credentials.write_key), "content-type": "application/json"}
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


def _basic(user: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:".encode()).decode()


async def benchmark(stack: Stack, settings: Settings) -> dict[str, Any]:
    admin = {"authorization": f"Bearer {stack.credentials.admin_key}"}
    async with httpx.AsyncClient(timeout=30) as setup:
        response = await setup.get(f"{stack.gateway_url}/api/workspaces/current", headers=admin)
        response.raise_for_status()
        workspace_id = response.json()["id"]
        log(f"workspace {workspace_id}; loading {CUSTOMERS} customers")
        await load_customers(setup, stack, admin)
    if not settings.keep_worker:
        worker = next(p for p in stack.procs if p.name == "profile-worker")
        worker.stop()
        stack.procs.remove(worker)
        log("profile worker stopped (it is on neither measured path)")

    internal = {
        "x-workspace-id": workspace_id,
        "x-cdp-internal-token": stack.credentials.internal_token,
        "x-cdp-scopes": "read,write",
    }
    gateway_pid = _pid(stack, "gateway")
    json_type = {"content-type": "application/json"}
    batch = Endpoint(
        key="batch",
        label=f"POST /v1/batch ({EVENTS_PER_BATCH} events of ~{EVENT_BYTES} bytes)",
        method="POST",
        direct=Target(
            "direct",
            f"{stack.service_url('ingest')}/v1/batch",
            {**internal, **json_type},
            {"service": _pid(stack, "ingest")},
        ),
        gateway=Target(
            "gateway",
            f"{stack.gateway_url}/v1/batch",
            {"authorization": _basic(stack.credentials.write_key), **json_type},
            {"gateway": gateway_pid, "service": _pid(stack, "ingest")},
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
            {"service": _pid(stack, "profile")},
        ),
        gateway=Target(
            "gateway",
            f"{stack.gateway_url}/api/customers?limit={READ_LIMIT}",
            admin,
            {"gateway": gateway_pid, "service": _pid(stack, "profile")},
        ),
        check=check_read,
    )
    limits = httpx.Limits(
        max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency
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
    parser.add_argument("--keep-worker", action="store_true", help="leave the profile worker running")
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
        keep_worker=args.keep_worker,
        profile=args.profile,
        max_wait_s=args.max_wait,
        wait_budget_s=args.wait_budget,
        retries=args.retries,
    )


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_args(argv)
    if busy := busy_ports():
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
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "commit": _git("rev-parse", "--short", "HEAD").strip() or "unknown",
            "dirty": bool(_git("status", "--porcelain").strip()),
            "nproc": _nproc(),
            "python": sys.version.split()[0],
            "duration_s": settings.duration_s,
            "rounds": settings.rounds,
            "concurrency": settings.concurrency,
            "warmup_s": settings.warmup_s,
            "profile_worker_stopped": not settings.keep_worker,
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
