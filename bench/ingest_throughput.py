"""Ingest throughput against its ceiling, measured in the same run.

Run: .venv/bin/python -m bench.ingest_throughput [--stack-profile P] [--duration S] [--rounds N]
     [--concurrency C] [--csv-rows R] [--profile]

- `/v1/batch`: batches of 100 track events of ~500 B each (fresh messageIds, bodies built before
  timing), sent back to back by `--concurrency` clients; events/s counts only events that ingest
  acknowledged, which it does after Kafka did (acks=all). Two ways: **direct** to ingest's port with
  the headers the gateway adds (what ingest itself can do), and **gateway** (through the gateway,
  whose own cost is issue #3's).
- Ceiling: a bare aiokafka producer with the platform's producer settings sending the same events,
  already encoded, to the same topic as fast as it can, two ways: one `send()` per message (the
  issue's loop), and `create_batch`/`send_batch` per partition (the way ingest produces). The
  higher of the two medians is the ceiling the ratio is taken against.
- CPU: every phase records the CPU seconds of ingest (with its worker processes), the gateway, Kafka,
  Redis, this load generator and the whole machine, per event.
- CSV: one orders file of `--csv-rows` lines (one line per order) streamed to /api/imports/orders,
  direct and through the gateway; rows/s over the upload's wall time.
Rounds alternate the order of the phases so machine noise hits each; medians are reported. Every
service's worker (profile, segmentation, campaigns, catalog, ...) is stopped while measuring: they
consume what ingest writes, so they would compete for the 2 cores (until 2026-11-22 only the profile
worker was stopped, and the campaigns and catalog workers consumed the measured events). `--profile`
runs one more direct round under py-spy (ingest and its workers) and prints where ingest's CPU goes.
Results: stdout and bench/results/ingest_throughput.json.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
import uvloop
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from bench.harness import CpuSample, is_worker, log, nproc, pid_of, run_meta
from cdpkit.kafka import encode, producer_options, standard_headers, start_producer
from cdpkit.settings import ServiceSettings
from deploy.launcher.stack import Stack
from schemas.customer_events import CustomerEvent, Track, customer_event_key
from schemas.topics import CUSTOMER_EVENTS

RESULTS = Path(__file__).parent / "results" / "ingest_throughput.json"
PADDING = "x" * 180  # brings each event to ~500 bytes of JSON
ROLES = ("ingest", "gateway", "kafka", "redis")
Message = tuple[bytes, bytes, Any]


def track(index: int) -> dict[str, Any]:
    return {
        "type": "track",
        "userId": f"bench-{index % 5000}",
        "event": "Product Viewed",
        "messageId": str(uuid.uuid4()),
        "timestamp": "2026-01-01T00:00:00Z",
        "properties": {
            "product_id": f"sku-{index % 300}",
            "price": 19.5,
            "category": "Bags",
            "note": PADDING,
        },
        "context": {"library": {"name": "bench", "version": "1"}, "ip": "10.0.0.1"},
    }


def batch_bodies(count: int) -> list[bytes]:
    return [orjson.dumps({"batch": [track(b * 100 + i) for i in range(100)]}) for b in range(count)]


# ------------------------------------------------------------------------------------------ CPU


async def measured(
    name: str, pids: dict[str, int], run: Callable[[], Awaitable[tuple[int, float]]]
) -> dict[str, Any]:
    """Run a phase; its events/s and the CPU µs each role spent per event."""
    before = CpuSample.take(pids, ())
    events, elapsed = await run()
    after = CpuSample.take(pids, ())
    spent = {**after.role_seconds(before), "loadgen": after.loadgen - before.loadgen}
    ours = sum(spent.values())
    spent["machine"] = after.machine - before.machine
    per_event = {role: round(seconds * 1e6 / max(events, 1), 1) for role, seconds in spent.items()}
    wall = after.wall - before.wall
    return {
        "phase": name,
        "events_per_s": events / elapsed,
        "cpu_us_per_event": per_event,
        "machine_busy": round(spent["machine"] / wall / nproc(), 2),
        # Cores used meanwhile by processes that are neither the bench stack nor this one.
        "others_cores": round(max(0.0, spent["machine"] - ours) / wall, 2),
    }


# ------------------------------------------------------------------------------------- /v1/batch


class RawClient:
    """Keep-alive HTTP/1.1 POSTs with pre-built headers: the lightest load generator asyncio allows.

    The servers are what is measured; httpx costs about 2 ms of CPU per request here, CPU the
    2 cores then lack for them. Each worker of a round holds one connection.
    """

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        parsed = httpx.URL(url)
        self.host, self.port = parsed.host, parsed.port or 80
        self.head = "".join(
            f"{k}: {v}\r\n" for k, v in {"host": f"{self.host}:{self.port}", **headers}.items()
        )
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        request = f"POST {path} HTTP/1.1\r\n{self.head}content-length: {len(body)}\r\n\r\n".encode() + body
        while True:
            fresh = not self._idle
            reader, writer = (
                await asyncio.open_connection(self.host, self.port) if fresh else self._idle.pop()
            )
            writer.write(request)
            status_line = await reader.readline()
            if status_line or fresh:
                break
            writer.close()  # the server closed this idle connection (keep-alive timeout): another one
        status = int(status_line.split(b" ", 2)[1])
        length, chunked = 0, False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
            elif name.lower() == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        content = await _chunked(reader) if chunked else await reader.readexactly(length)
        self._idle.append((reader, writer))
        return status, content

    async def close(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while size := int((await reader.readline()).split(b";")[0], 16):
        parts.append(await reader.readexactly(size))
        await reader.readline()
    await reader.readline()
    return b"".join(parts)


async def post_round(
    client: RawClient, path: str, bodies: list[bytes], seconds: float, clients: int, warmup: bool = False
) -> tuple[int, float]:
    """Events acknowledged by back-to-back posts for `seconds` (or until the bodies run out, in a warm-up)."""
    accepted, cursor = 0, 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal accepted, cursor
        while time.perf_counter() < deadline and cursor < len(bodies):
            body, cursor = bodies[cursor], cursor + 1
            status, content = await client.post(path, body)
            outcome = orjson.loads(content)
            if status != 200 or outcome["accepted"] != 100:
                raise RuntimeError(f"ingest did not accept the whole batch: {status} {outcome}")
            accepted += outcome["accepted"]

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    if cursor >= len(bodies) and not warmup:
        raise RuntimeError("ran out of pre-built bodies: raise --max-rate")
    return accepted, elapsed


# --------------------------------------------------------------------------------------- ceiling


async def ceiling_send(
    producer: AIOKafkaProducer, values: list[Message], seconds: float
) -> tuple[int, float]:
    """The issue's ceiling: one `send()` per message, then wait for every ack, 1,000 at a time."""
    sent = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        start = sent % len(values)
        futures = [
            await producer.send(CUSTOMER_EVENTS.name, value=v, key=k, headers=h)
            for k, v, h in values[start : start + 1000]
        ]
        for future in futures:
            await future
        sent += len(futures)
    return sent, time.perf_counter() - started


async def ceiling_batch(
    producer: AIOKafkaProducer, values: list[Message], seconds: float
) -> tuple[int, float]:
    """The client's fastest path: one record batch per partition (what ingest does), 1,000 at a time."""
    partitions = sorted(await producer.partitions_for(CUSTOMER_EVENTS.name))
    partitioner = DefaultPartitioner()
    sent = 0
    started = time.perf_counter()
    now = time.time()
    while time.perf_counter() - started < seconds:
        start = sent % len(values)
        chunk = values[start : start + 1000]
        builders: dict[int, Any] = {}
        futures: list[Any] = []
        for k, v, h in chunk:
            partition = partitioner(k, partitions, partitions)
            builder = builders.get(partition)
            if builder is None:
                builder = builders[partition] = producer.create_batch()
            if builder.append(timestamp=now, key=k, value=v, headers=h) is None:  # full
                futures.append(await producer.send_batch(builder, CUSTOMER_EVENTS.name, partition=partition))
                builder = builders[partition] = producer.create_batch()
                builder.append(timestamp=now, key=k, value=v, headers=h)
        futures += [
            await producer.send_batch(b, CUSTOMER_EVENTS.name, partition=p) for p, b in builders.items()
        ]
        await asyncio.gather(*futures)
        sent += len(chunk)
    return sent, time.perf_counter() - started


def encoded_events(workspace_id: str, count: int) -> list[Message]:
    now = datetime.now(UTC)
    out = []
    for index in range(count):
        raw = track(index)
        call = Track(
            message_id=raw["messageId"],
            user_id=raw["userId"],
            event=raw["event"],
            properties=raw["properties"],
            context=raw["context"],
        )
        event = CustomerEvent(
            event_id=call.message_id, workspace_id=workspace_id, type="track", occurred_at=now, payload=call
        )
        out.append(
            (
                customer_event_key(workspace_id, call.customer_key),
                encode(event),
                standard_headers(event.type, event.event_id),
            )
        )
    return out


# ------------------------------------------------------------------------------------------- CSV


def orders_csv(rows: int) -> bytes:
    run = uuid.uuid4().hex[:8]
    lines = ["order_id,user_id,ordered_at,product_id,sku,name,category,brand,price,quantity,currency\n"]
    lines += [
        f"{run}-{i},bench-{i % 5000},2025-06-01T10:00:00Z,p{i % 300},sku-{i % 300},Item,Bags,Kestrel,"
        "19.50,1,USD\n"
        for i in range(rows)
    ]
    return "".join(lines).encode()


async def csv_import(client: httpx.AsyncClient, data: bytes, pids: dict[str, int]) -> dict[str, Any]:
    """Stream an orders file; rows/s over the upload's wall time (the answer comes when it is done)."""

    async def chunks() -> Any:
        for start in range(0, len(data), 64 * 1024):
            yield data[start : start + 64 * 1024]

    before = CpuSample.take(pids, ())
    started = time.perf_counter()
    response = await client.post(
        "/api/imports/orders", content=chunks(), timeout=600, headers={"content-type": "text/csv"}
    )
    elapsed = time.perf_counter() - started
    after = CpuSample.take(pids, ())
    response.raise_for_status()
    job = response.json()
    rows = job["rows_accepted"]
    return {
        "rows": rows,
        "rejected": job["rows_rejected"],
        "seconds": round(elapsed, 2),
        "rows_per_s": round(rows / elapsed),
        "cpu_us_per_row": {
            role: round(seconds * 1e6 / max(rows, 1), 1)
            for role, seconds in after.role_seconds(before).items()
        },
    }


# --------------------------------------------------------------------------------------- profile


def summarise_profile(raw: Path, top: int = 25) -> dict[str, Any]:
    """Self time by function and by source file, from py-spy's raw (collapsed) stacks."""
    by_function: collections.Counter[str] = collections.Counter()
    by_file: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        frames = [f for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        if not frames or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        by_function[frames[-1]] += count
        by_file[frames[-1].rpartition("(")[2].split(":")[0]] += count

    def share(counter: collections.Counter[str]) -> list[tuple[str, float]]:
        return [(name, round(100 * c / max(total, 1), 1)) for name, c in counter.most_common(top)]

    return {"samples": total, "self_by_function_pct": share(by_function), "self_by_file_pct": share(by_file)}


async def profiled_round(
    stack: Stack, pid: int, run: Callable[[], Awaitable[Any]], seconds: int
) -> dict[str, Any]:
    out = stack.layout.root / "profiles" / "ingest_direct.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    spy = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("py-spy")),
        *("record", "--pid", str(pid), "--subprocesses", "--duration", str(seconds), "--rate", "200"),
        *("--nonblocking", "--format", "raw", "--output", str(out)),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await asyncio.sleep(0.5)
    await run()
    await spy.wait()
    return {**summarise_profile(out), "raw_file": str(out)}


# ------------------------------------------------------------------------------------------- run


async def measure(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    settings = ServiceSettings(kafka_bootstrap_servers=stack.env["KAFKA_BOOTSTRAP_SERVERS"])
    pids = {role: pid_of(stack, role) for role in ROLES}
    admin = {"Authorization": f"Bearer {stack.credentials.admin_key}"}
    async with httpx.AsyncClient(base_url=stack.gateway_url, headers=admin) as setup:
        workspace = (await setup.get("/api/workspaces/current")).json()["id"]
    json_type = {"content-type": "application/json"}
    internal = {
        "x-workspace-id": workspace,
        "x-cdp-internal-token": stack.credentials.internal_token,
        "x-cdp-scopes": "read,write",
    }
    write_key = base64.b64encode(f"{stack.credentials.write_key}:".encode()).decode()
    ways = {
        "direct": RawClient(stack.service_url("ingest"), {**internal, **json_type}),
        "gateway": RawClient(stack.gateway_url, {"authorization": f"Basic {write_key}", **json_type}),
    }
    values = encoded_events(workspace, 20_000)
    producer = await start_producer(settings)
    per_round = int(args.duration * args.max_rate / 100) + 50
    phases: dict[str, Callable[[], Awaitable[tuple[int, float]]]] = {}
    rounds: list[dict[str, Any]] = []
    try:
        for client in ways.values():  # warm-up: connections, caches, first-call costs
            await post_round(client, "/v1/batch", batch_bodies(300), 2, args.concurrency, warmup=True)
        for index in range(args.rounds):
            bodies = {way: batch_bodies(per_round) for way in ways}
            phases = {
                "ceiling_send": partial(ceiling_send, producer, values, args.duration),
                "ceiling_batch": partial(ceiling_batch, producer, values, args.duration),
                **{
                    way: partial(
                        post_round, client, "/v1/batch", bodies[way], args.duration, args.concurrency
                    )
                    for way, client in ways.items()
                },
            }
            order = list(phases) if index % 2 == 0 else list(reversed(phases))
            for name in order:
                for client in ways.values():
                    await client.close()  # connections idle since the last round may be timing out
                rounds.append({"round": index, **await measured(name, pids, phases[name])})
                log(f"round {index} {name:14} {rounds[-1]['events_per_s']:>9,.0f} events/s")
        profile = None
        if args.profile:
            spare = batch_bodies(per_round)
            profile = await profiled_round(
                stack,
                pids["ingest"],
                lambda: post_round(ways["direct"], "/v1/batch", spare, args.duration, args.concurrency),
                int(args.duration),
            )
        csv = {}
        for way, url, headers in (
            ("direct", stack.service_url("ingest"), internal),
            ("gateway", stack.gateway_url, admin),
        ):
            data = orders_csv(args.csv_rows)  # new order ids: not duplicates of the other way's
            async with httpx.AsyncClient(base_url=url, headers=headers) as csv_client:
                csv[way] = await csv_import(csv_client, data, pids)
    finally:
        await producer.stop()
        for client in ways.values():
            await client.close()
    return summarise(rounds, csv, profile, settings)


def summarise(
    rounds: list[dict[str, Any]],
    csv: dict[str, Any],
    profile: dict[str, Any] | None,
    settings: ServiceSettings,
) -> dict[str, Any]:
    def median_of(phase: str) -> dict[str, Any]:
        mine = [r for r in rounds if r["phase"] == phase]
        cpu = {
            role: round(statistics.median(r["cpu_us_per_event"][role] for r in mine), 1)
            for role in mine[0]["cpu_us_per_event"]
        }
        stack_cpu = sum(value for role, value in cpu.items() if role != "machine")
        return {
            "events_per_s": round(statistics.median(r["events_per_s"] for r in mine)),
            "rounds": [round(r["events_per_s"]) for r in mine],
            "cpu_us_per_event": cpu,
            "others_cores": statistics.median(r["others_cores"] for r in mine),
            # What the stack's CPU per event allows if it had every core to itself (an upper bound).
            "cpu_bound_events_per_s": round(nproc() * 1e6 / stack_cpu) if stack_cpu else None,
        }

    phases = {phase: median_of(phase) for phase in ("ceiling_send", "ceiling_batch", "direct", "gateway")}
    ceiling = max(phases["ceiling_send"]["events_per_s"], phases["ceiling_batch"]["events_per_s"])
    for way in ("direct", "gateway"):
        phases[way]["ratio"] = round(phases[way]["events_per_s"] / ceiling, 3)
    return {
        "batch": {
            **phases,
            "ceiling_events_per_s": ceiling,
            "target_ratio": 0.6,
            "target_events_per_s": 20_000,
        },
        "csv": {**csv, "target_rows_per_s": 50_000},
        "profile": profile,
        "rounds": rounds,
        "producer": {k: v for k, v in producer_options(settings).items() if k != "bootstrap_servers"},
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--stack-profile", default="bench", help="launcher profile of the stack (ports, state)"
    )
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--csv-rows", type=int, default=200_000)
    parser.add_argument("--max-rate", type=float, default=40_000, help="events/s the pre-built bodies allow")
    parser.add_argument("--profile", action="store_true", help="py-spy ingest during one more direct round")
    args = parser.parse_args()
    stack = Stack.for_profile(args.stack_profile)
    stack.up()
    try:
        for proc in stack.procs:
            if is_worker(proc.name):  # the consumers of what ingest writes would compete for the 2 cores
                proc.stop()
        ingest = psutil.Process(pid_of(stack, "ingest"))
        ingest_workers = max(1, sum("spawn_main" in " ".join(c.cmdline()) for c in ingest.children()))
        result = uvloop.run(measure(stack, args))
    finally:
        stack.down()
    result["meta"] = {
        **run_meta("services/ingest", "cdpkit", "bench/ingest_throughput.py"),
        "stack_profile": args.stack_profile,
        "ingest_workers": ingest_workers,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "loadavg": os.getloadavg(),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(render(result))
    return 0


def render(result: dict[str, Any]) -> str:
    batch, csv = result["batch"], result["csv"]
    lines = [
        f"{'phase':14} {'events/s':>9} {'ratio':>6} {'others':>7}   CPU µs per event: "
        + " ".join(f"{r:>8}" for r in (*ROLES, "loadgen", "machine"))
    ]
    for phase in ("ceiling_send", "ceiling_batch", "direct", "gateway"):
        row = batch[phase]
        ratio = f"{row['ratio']:.2f}" if "ratio" in row else ""
        cpu = " ".join(f"{row['cpu_us_per_event'].get(r, 0):>8}" for r in (*ROLES, "loadgen", "machine"))
        others = f"{row['others_cores']:.2f}"
        lines.append(f"{phase:14} {row['events_per_s']:>9,} {ratio:>6} {others:>7}   {' ' * 18}{cpu}")
    lines.append("others: cores used meanwhile by processes outside the bench (the machine is shared)")
    lines.append(f"ceiling {batch['ceiling_events_per_s']:,}/s; targets: ratio ≥ 0.6 and ≥ 20,000 events/s")
    for way, figures in csv.items():
        if isinstance(figures, dict):
            lines.append(
                f"CSV import {way:8} {figures['rows_per_s']:>8,} rows/s ({figures['rows']:,} rows, "
                f"{figures['seconds']} s; ingest {figures['cpu_us_per_row']['ingest']} µs CPU per row;"
                " target 50,000/s)"
            )
    if result.get("profile"):
        lines.append(f"py-spy on ingest ({result['profile']['samples']} samples), self time:")
        lines += [f"  {pct:5.1f} %  {name}" for name, pct in result["profile"]["self_by_function_pct"]]
        lines += [f"  {pct:5.1f} %  {name}" for name, pct in result["profile"]["self_by_file_pct"][:12]]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
