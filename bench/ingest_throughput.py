"""Ingest throughput against its ceiling, measured in the same run.

Run: .venv/bin/python -m bench.ingest_throughput [--duration S] [--rounds N] [--concurrency C] [--csv-rows R]

- `/v1/batch`: batches of 100 track events of ~500 B each (fresh messageIds, bodies built before
  timing), sent by `--concurrency` clients through the gateway; events/s counts only events that
  ingest acknowledged after Kafka did (acks=all).
- Ceiling: a bare aiokafka producer, with the platform's producer settings, sending the same events
  already encoded to the same topic, as fast as it can (send, then wait for every ack).
- CSV: one orders file of `--csv-rows` lines (one line per order) streamed to /api/imports/orders.
Rounds alternate (ceiling, ingest, ceiling, …) so machine noise hits both; medians are reported.
The profile worker is stopped while measuring so it does not compete for the 2 cores.
Results: stdout and bench/results/ingest_throughput.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

from cdpkit.kafka import encode, producer_options, standard_headers, start_producer
from cdpkit.settings import ServiceSettings
from deploy.launcher.stack import Stack
from schemas.customer_events import CustomerEvent, Track, customer_event_key
from schemas.topics import CUSTOMER_EVENTS

RESULTS = Path(__file__).parent / "results" / "ingest_throughput.json"
PADDING = "x" * 180  # brings each event to ~500 bytes of JSON


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


async def ingest_round(
    gateway: str, write_key: str, bodies: list[bytes], seconds: float, clients: int
) -> float:
    """Events/s acknowledged through the gateway in `seconds`."""
    accepted, cursor = 0, 0
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(
        base_url=gateway, auth=(write_key, ""), timeout=30, headers={"content-type": "application/json"}
    ) as client:

        async def worker() -> None:
            nonlocal accepted, cursor
            while time.perf_counter() < deadline and cursor < len(bodies):
                body, cursor = bodies[cursor], cursor + 1
                response = await client.post("/v1/batch", content=body)
                response.raise_for_status()
                accepted += response.json()["accepted"]

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    if cursor >= len(bodies):
        raise RuntimeError("ran out of pre-built bodies: raise the number built")
    return accepted / elapsed


async def ceiling_round(
    settings: ServiceSettings, values: list[tuple[bytes, bytes, Any]], seconds: float
) -> float:
    """Events/s a bare producer with the same settings sends and gets acknowledged."""
    producer = await start_producer(settings)
    sent = 0
    try:
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            futures = [
                await producer.send(CUSTOMER_EVENTS.name, value=v, key=k, headers=h)
                for k, v, h in values[sent % len(values) : sent % len(values) + 1000]
            ]
            for future in futures:
                await future
            sent += len(futures)
        return sent / (time.perf_counter() - started)
    finally:
        await producer.stop()


def encoded_events(workspace_id: str, count: int) -> list[tuple[bytes, bytes, Any]]:
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


def csv_import(gateway: str, admin_key: str, rows: int) -> dict[str, float]:
    """Stream an orders CSV of `rows` one-line orders; rows/s from the upload's wall time."""
    run = uuid.uuid4().hex[:8]

    def lines() -> Any:
        yield b"order_id,user_id,ordered_at,product_id,sku,name,category,brand,price,quantity,currency\n"
        chunk = []
        for index in range(rows):
            chunk.append(
                f"{run}-{index},bench-{index % 5000},2025-06-01T10:00:00Z,p{index % 300},"
                f"sku-{index % 300},Item,Bags,Kestrel,19.50,1,USD\n"
            )
            if len(chunk) == 2000:
                yield "".join(chunk).encode()
                chunk = []
        if chunk:
            yield "".join(chunk).encode()

    started = time.perf_counter()
    response = httpx.post(
        f"{gateway}/api/imports/orders",
        content=lines(),
        timeout=600,
        headers={"Authorization": f"Bearer {admin_key}", "content-type": "text/csv"},
    )
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    job = response.json()
    return {
        "rows": job["rows_accepted"],
        "rejected": job["rows_rejected"],
        "seconds": round(elapsed, 2),
        "rows_per_s": round(job["rows_accepted"] / elapsed),
    }


async def measure(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    settings = ServiceSettings(kafka_bootstrap_servers=stack.env["KAFKA_BOOTSTRAP_SERVERS"])
    admin = {"Authorization": f"Bearer {stack.credentials.admin_key}"}
    async with httpx.AsyncClient(base_url=stack.gateway_url, headers=admin) as client:
        workspace = (await client.get("/api/workspaces/current")).json()["id"]
    bodies = batch_bodies(int(args.rounds * args.duration * 150) + 200)
    values = encoded_events(workspace, 20_000)
    await ingest_round(stack.gateway_url, stack.credentials.write_key, bodies[:100], 2, args.concurrency)
    bodies = bodies[100:]
    ceilings, ingests = [], []
    for _ in range(args.rounds):
        ceilings.append(await ceiling_round(settings, values, args.duration))
        used = int(args.duration * 150)
        ingests.append(
            await ingest_round(
                stack.gateway_url, stack.credentials.write_key, bodies[:used], args.duration, args.concurrency
            )
        )
        bodies = bodies[used:]
    ceiling, ingest = statistics.median(ceilings), statistics.median(ingests)
    return {
        "batch": {
            "events_per_s": round(ingest),
            "ceiling_events_per_s": round(ceiling),
            "ratio": round(ingest / ceiling, 3),
            "rounds_ingest": [round(x) for x in ingests],
            "rounds_ceiling": [round(x) for x in ceilings],
            "target_ratio": 0.6,
            "target_events_per_s": 20_000,
        },
        "csv": {
            **csv_import(stack.gateway_url, stack.credentials.admin_key, args.csv_rows),
            "target_rows_per_s": 50_000,
        },
        "producer": {k: v for k, v in producer_options(settings).items() if k != "bootstrap_servers"},
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--csv-rows", type=int, default=100_000)
    args = parser.parse_args()
    stack = Stack.for_profile("bench")
    stack.up()
    try:
        [worker] = [proc for proc in stack.procs if proc.name == "profile-worker"]
        worker.stop()  # it would compete for the same 2 cores
        result = asyncio.run(measure(stack, args))
    finally:
        stack.down()
    result["meta"] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip(),
        "duration_s": args.duration,
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "loadavg": os.getloadavg(),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    batch, csv = result["batch"], result["csv"]
    print(
        f"/v1/batch  {batch['events_per_s']:>8,} events/s   ceiling {batch['ceiling_events_per_s']:,}/s"
        f"   ratio {batch['ratio']:.2f} (target ≥ 0.6 and ≥ 20,000 events/s)"
    )
    print(
        f"CSV import {csv['rows_per_s']:>8,} rows/s   "
        f"({csv['rows']:,} rows, {csv['seconds']} s; target 50,000/s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
