"""What every benchmark here needs: logging, percentiles, CPU accounting, run metadata."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from deploy.launcher.layout import PROFILES, REPO
from deploy.launcher.processes import answers, port_open
from deploy.launcher.stack import Stack
from tests.factories import unique


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def committed_events(
    admin: AIOKafkaAdminClient, group: str, start: dict[TopicPartition, int], end: dict[TopicPartition, int]
) -> int:
    """Messages between `start` and `end` that the consumer group has committed (a worker commits
    after its database transaction), read from Kafka: polling a `count(*)` of the worker's inbox
    instead cost PostgreSQL 16 % of its time in the profile benchmark."""
    committed = await admin.list_consumer_group_offsets(group)
    return sum(
        min(max(committed[tp].offset, start[tp]), end[tp]) - start[tp] for tp in end if tp in committed
    )


async def reset_statements(connection: Any) -> None:
    """Start PostgreSQL's per-statement accounting afresh (the launcher preloads pg_stat_statements)."""
    await connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    await connection.execute("SELECT pg_stat_statements_reset()")


async def top_statements(connection: Any, limit: int = 12) -> list[dict[str, Any]]:
    """The statements PostgreSQL spent most time on since `reset_statements`, with their share."""
    rows = await connection.fetch(
        "SELECT calls, total_exec_time, rows, regexp_replace(query, '\\s+', ' ', 'g') AS query, "
        "sum(total_exec_time) OVER () AS everything "
        "FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT $1",
        limit,
    )
    return [
        {
            "share": round(row["total_exec_time"] / max(row["everything"], 1e-9), 3),
            "ms": round(row["total_exec_time"]),
            "calls": row["calls"],
            "rows": row["rows"],
            "query": row["query"][:160],
        }
        for row in rows
    ]


def log_statements(rows: Sequence[dict[str, Any]]) -> None:
    """`top_statements`' rows, one line each."""
    for row in rows:
        log(f"  {row['share']:6.1%} {row['ms']:7d} ms {row['calls']:6d} calls  {row['query']}")


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted sequence; `q` in percent (99, not 0.99)."""
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def cpu_seconds(pid: int) -> float:
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
            roles={role: cpu_seconds(pid) for role, pid in roles.items()},
            stack=sum(cpu_seconds(pid) for pid in stack_pids),
            loadgen=sum(psutil.Process().cpu_times()[:2]),
            processes=processes,
            machine=processes + getattr(times, "irq", 0.0) + getattr(times, "softirq", 0.0),
            steal=getattr(times, "steal", 0.0),
        )

    def role_seconds(self, before: CpuSample) -> dict[str, float]:
        """CPU seconds each role's process (with its children) used since `before`."""
        return {role: seconds - before.roles[role] for role, seconds in self.roles.items()}

    def foreign_share(self, before: CpuSample) -> float:
        """Share of the machine used since `before` by processes outside the stack and this one."""
        ours = (self.stack - before.stack) + (self.loadgen - before.loadgen)
        capacity = max(1e-9, (self.wall - before.wall) * nproc())
        return max(0.0, (self.processes - before.processes) - ours) / capacity

    def steal_share(self, before: CpuSample) -> float:
        return max(0.0, self.steal - before.steal) / max(1e-9, (self.wall - before.wall) * nproc())


def nproc() -> int:
    """What `nproc` prints: the CPUs this process may run on."""
    return len(os.sched_getaffinity(0))


def busy_ports(profile: str) -> list[int]:
    """Ports of a stack profile that something already listens on."""
    ports = PROFILES[profile]
    wanted = [ports.kafka, ports.kafka_controller, ports.postgres, ports.redis, ports.gateway]
    wanted += [ports.service(offset) for offset in (1, 2, 3, 4, 5, 12)]
    return [port for port in wanted if port_open(port)]


def pid_of(stack: Stack, name: str) -> int:
    """The pid of one of the stack's processes."""
    proc = next(p for p in stack.procs if p.name == name)
    assert proc.popen is not None
    return proc.popen.pid


def source_digest(folders: tuple[str, ...] = ("gateway", "cdpkit", "services")) -> str:
    """A digest of the code the stack runs (the tree may be dirty): gateway/, cdpkit/, services/."""
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted((REPO / folder).rglob("*.py")):
            digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def start_worker(stack: Stack, service: str, port: int, **env: str) -> subprocess.Popen[bytes]:
    """`python -m services.<service> worker` in the stack's environment on `port`; ready when it returns."""
    if answers(f"http://127.0.0.1:{port}/healthz"):
        raise RuntimeError(f"port {port} is taken: a worker left by an earlier run? stop it first")
    log = stack.layout.logs / f"bench-{service}-worker.log"
    proc = stack.spawn_worker(service, port, log, **{"LOG_LEVEL": "WARNING", **env})
    deadline = time.monotonic() + 60
    while not answers(f"http://127.0.0.1:{port}/readyz"):
        if time.monotonic() > deadline or proc.poll() is not None:
            stop_worker(proc)
            raise RuntimeError("the bench worker did not become ready")
        time.sleep(0.2)
    return proc


def stop_worker(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM a worker; SIGKILL it if it has not stopped within 30 s."""
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def ceiling_consumer(
    bootstrap: str, start: dict[TopicPartition, int], **options: Any
) -> AIOKafkaConsumer:
    """A started consumer in a group of its own (committing only when told), at `start` on each partition."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=unique("bench-ceiling"), enable_auto_commit=False, **options
    )
    await consumer.start()
    consumer.assign(list(start))
    for tp, offset in start.items():
        consumer.seek(tp, offset)
    return consumer


def git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return ""


def run_meta(*sources: str) -> dict[str, Any]:
    """What every result file records: when, on how many CPUs, and which code (dirty: `sources` changed,
    or the whole tree when none are named)."""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git("rev-parse", "--short", "HEAD").strip() or "unknown",
        "dirty": bool(git("status", "--porcelain", "--", *sources).strip()),
        "nproc": nproc(),
    }


def is_worker(name: str) -> bool:
    return name.endswith("-worker")


def on_stack(
    profile: str,
    measure: Callable[[Stack], Coroutine[Any, Any, dict[str, Any]]],
    stopped: Callable[[str], bool] = is_worker,
) -> dict[str, Any]:
    """Run `measure` on the launcher's stack of `profile`, started for it and always stopped after.

    The processes `stopped` names (by default every worker) are stopped first: they would compete
    for the cores with what is measured. The result's `meta` records the load average before.
    """
    load_before = os.getloadavg()
    stack = Stack.for_profile(profile)
    stack.up()
    try:
        for proc in stack.procs:
            if stopped(proc.name):
                proc.stop()
        result = asyncio.run(measure(stack))
    finally:
        stack.down()
    result["meta"] = {"load_before": load_before}
    return result


def save_result(path: Path, result: dict[str, Any], *sources: str) -> None:
    """Write the result file, its `meta` completed with `run_meta(*sources)`."""
    result["meta"] = {**run_meta(*sources), **result.get("meta", {})}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
