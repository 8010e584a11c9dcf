"""Send a stream of customers' calls through the gateway's `/v1/batch`, as a shop's backend would.

Each customer's calls go down one lane (customer k → lane k mod concurrency) and each lane sends its
batches one after the other, so one customer's calls arrive in order while the lanes run at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

MAX_CALLS = 100
MAX_REQUEST_BYTES = 450_000  # ingest refuses bodies over 500 KB; room for the envelope
MAX_CALL_BYTES = 32 * 1024  # ingest refuses the whole request when one call is over 32 KB
RETRY_STATUSES = frozenset({429, 502, 503, 504})
LIBRARY = orjson.dumps({"library": {"name": "cdp-datagen", "version": "1"}})


class FeedError(RuntimeError):
    """The gateway refused a request outright (bad key, malformed body): nothing more can be sent."""


@dataclass
class FeedReport:
    """What happened to the calls: per-item outcomes from ingest's answers, and the pace."""

    sent: int = 0  # calls in requests that ingest answered
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    failed: int = 0  # calls in requests still refused after every retry
    requests: int = 0
    retries: int = 0
    seconds: float = 0.0
    rejections: list[str] = field(default_factory=list)  # the first few, `messageId: reason`

    @property
    def events_per_s(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        """One line for a terminal."""
        return (
            f"sent {self.sent} calls in {self.seconds:.1f} s ({self.events_per_s:,.0f} events/s, "
            f"{self.requests} requests, {self.retries} retries): accepted {self.accepted}, "
            f"duplicates {self.duplicates}, rejected {self.rejected}, failed {self.failed}"
        )


def pack(
    stream: Iterable[list[dict[str, Any]]],
    lanes: int,
    max_calls: int = MAX_CALLS,
    max_bytes: int = MAX_REQUEST_BYTES,
) -> Iterator[tuple[int, list[bytes]]]:
    """(lane, encoded calls) batches within ingest's limits; a customer's calls stay in one lane, in order."""
    pending: list[list[bytes]] = [[] for _ in range(lanes)]
    sizes = [0] * lanes
    for number, calls in enumerate(stream):
        lane = number % lanes
        for call in calls:
            encoded = orjson.dumps(call)
            if len(encoded) > MAX_CALL_BYTES:
                raise ValueError(f"call {call.get('messageId')} is {len(encoded)} bytes, over ingest's limit")
            if pending[lane] and (len(pending[lane]) >= max_calls or sizes[lane] + len(encoded) > max_bytes):
                yield lane, pending[lane]
                pending[lane], sizes[lane] = [], 0
            pending[lane].append(encoded)
            sizes[lane] += len(encoded) + 1
    for lane, batch in enumerate(pending):
        if batch:
            yield lane, batch


def body_of(batch: list[bytes]) -> bytes:
    """The `/v1/batch` request body: the calls, and the library that sent them as batch context."""
    return b'{"batch":[' + b",".join(batch) + b'],"context":' + LIBRARY + b"}"


@dataclass
class Feeder:
    """Sends batches down lanes through one HTTP client, retrying what the gateway asks to retry."""

    client: httpx.AsyncClient
    report: FeedReport
    max_attempts: int = 20
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    progress: Callable[[FeedReport], None] | None = None
    started: float = field(default_factory=time.monotonic)
    _last_progress: float = field(default_factory=time.monotonic)

    async def lane(self, queue: asyncio.Queue[list[bytes] | None]) -> None:
        """Send one lane's batches in order until it is closed with None."""
        while (batch := await queue.get()) is not None:
            await self.send(batch)

    async def send(self, batch: list[bytes]) -> None:
        """One batch, retried on 429/5xx and network errors (Retry-After honoured), then tallied."""
        body = body_of(batch)
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = await self.client.post(
                    "/v1/batch", content=body, headers={"content-type": "application/json"}
                )
            except httpx.TransportError:
                response = None
            if response is not None:
                self.report.requests += 1
                if response.status_code == 200:
                    self._tally(batch, response.json())
                    return
                if response.status_code not in RETRY_STATUSES:
                    raise FeedError(f"/v1/batch answered {response.status_code}: {response.text[:500]}")
            if attempt < self.max_attempts:
                self.report.retries += 1
                await self.sleep(_wait(response, attempt))
        self.report.failed += len(batch)

    def _tally(self, batch: list[bytes], answer: dict[str, Any]) -> None:
        report = self.report
        report.sent += len(batch)
        report.accepted += int(answer.get("accepted", 0))
        report.duplicates += int(answer.get("duplicates", 0))
        for item in answer.get("rejected") or []:
            report.rejected += 1
            if len(report.rejections) < 20:
                message_id = orjson.loads(batch[item["index"]]).get("messageId")
                report.rejections.append(f"{message_id}: {item.get('reason')}")
        now = time.monotonic()
        report.seconds = now - self.started
        if self.progress and now - self._last_progress >= 5:
            self._last_progress = now
            self.progress(report)


def _wait(response: httpx.Response | None, attempt: int) -> float:
    backoff = min(0.25 * 2**attempt, 10.0)
    if response is None:
        return backoff
    try:
        return min(max(float(response.headers.get("retry-after", "")), 0.0), 60.0)
    except ValueError:
        return backoff


async def feed(
    stream: Iterable[list[dict[str, Any]]],
    gateway_url: str,
    write_key: str,
    *,
    concurrency: int = 4,
    max_calls: int = MAX_CALLS,
    timeout_s: float = 60.0,
    max_attempts: int = 20,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    transport: httpx.AsyncBaseTransport | None = None,
    progress: Callable[[FeedReport], None] | None = None,
) -> FeedReport:
    """Send every customer's calls (one list per customer) to `/v1/batch` with the write key."""
    report = FeedReport()
    queues: list[asyncio.Queue[list[bytes] | None]] = [asyncio.Queue(maxsize=2) for _ in range(concurrency)]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=gateway_url, auth=(write_key, ""), timeout=timeout_s, limits=limits, transport=transport
    ) as client:
        feeder = Feeder(client, report, max_attempts, sleep, progress)

        async def produce() -> None:
            for lane, batch in pack(stream, concurrency, max_calls):
                await queues[lane].put(batch)
                await asyncio.sleep(0)  # generating is CPU work: let the lanes send meanwhile
            for queue in queues:
                await queue.put(None)

        try:
            async with asyncio.TaskGroup() as group:
                for queue in queues:
                    group.create_task(feeder.lane(queue))
                group.create_task(produce())
        except ExceptionGroup as group_error:
            first = group_error.exceptions[0]
            raise first from group_error
    report.seconds = time.monotonic() - feeder.started
    return report


def feed_sync(
    stream: Iterable[list[dict[str, Any]]], gateway_url: str, write_key: str, **options: Any
) -> FeedReport:
    """`feed` for callers without an event loop (the launcher, scripts)."""
    return asyncio.run(feed(stream, gateway_url, write_key, **options))
