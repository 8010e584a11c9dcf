"""Segment entered → first email in the SMTP sink, end to end at moderate load (issue #7, item 9).

Run: .venv/bin/python -m bench.campaigns_first_email [--rate 20] [--duration 30] [--noise 200]

The whole stack of profile bench-c runs, every worker included: identify → ingest → profile →
segmentation → campaigns (intake, scheduler, outbox relay, delivery) → SMTP sink. Through the gateway
with the stack's admin key: a segment `traits.plan = gold` and an active flow triggered by entering
it, `send_email` (inline template) then `exit`. A few warm-up customers go through first (not
counted) so every consumer group has joined. Then, beside a background of `--noise` page calls/s of
2,000 other users (so the pipeline is not idle), `--rate` new customers/s for `--duration` s, each an
`identify` with an email and `plan: gold` in small paced `/v1/batch` posts. Per customer:
- t_sent: when the bench posted its identify;
- t_entered: the Kafka record timestamp of its `segment.entered` on cdp.segment-events.v1 (a bare
  consumer from the offsets taken before the load);
- t_email: the sink's `received_at` of its email, read through `GET /api/outbox/emails?to=` after the
  load (the API answers one address at a time, and the time is the sink's, so reading late costs
  nothing but keeps the reads off the measured path).
Reported: p50/p95/p99/max of email - entered (the issue's figure, target p99 ≤ 1 s) and of email - sent,
and the customers with no email within `--timeout` (then `valid: false`, exit 1).

Floor, in the same run, under the same noise: what the path cannot avoid past `segment.entered` is
two Kafka hops (segment event → campaigns intake; send event → delivery), each at least one
produce → consume of a small record with the platform's producer settings (acks=all, linger 5 ms)
and a read_committed consumer, and one SMTP conversation with the sink. So floor = 2 * p50 of a bare
produce → consume (measured `--floor-n` times on a topic of its own) + p50 of a bare aiosmtplib send
of a similar mail. Everything above it is the services' own work: transactions, the outbox relays,
rendering. Ratio = p50(entered → email) / floor.
Results: stdout and bench/results/campaigns_first_email.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import httpx
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.harness import CpuSample, log, on_stack, percentile, pid_of, save_result
from cdpkit.kafka import producer_options
from cdpkit.settings import ServiceSettings
from deploy.launcher.services import SMTP_SINK_OFFSET
from deploy.launcher.stack import Stack
from schemas.topics import (
    CAMPAIGN_SENDS,
    CUSTOMER_EVENTS,
    DELIVERY_RESULTS,
    PROFILE_SNAPSHOTS,
    SEGMENT_EVENTS,
)
from tests.factories import unique
from tests.kafka_tools import committed_and_end, create_topics, end_offsets

RESULTS = Path(__file__).parent / "results" / "campaigns_first_email.json"
PROFILE = "bench-c"
TICK_S = 0.1  # customers and noise go out in a batch per tick: small batches, paced
NOISE_USERS = 2_000
WARMUP = 3
TAIL_S = 5.0
ROLES = (
    "gateway",
    "ingest",
    "profile-worker",
    "segmentation-worker",
    "campaigns-worker",
    "smtp-sink",
    "postgres",
    "kafka",
)
TARGET_P99_MS = 1_000
# The reads of the sink (one per address, after the load) would pass the admin key's 1,200/min.
GATEWAY_ENV = {"RATE_LIMIT_ADMIN_PER_MINUTE": "1000000"}
TEMPLATE = {
    "subject": "Welcome {{ customer.first_name }}",
    "html": "<p>Hi {{ customer.first_name }}, welcome to the gold plan.</p><p><a href='https://shop.example/'>Shop</a></p>",
    "text": "Hi {{ customer.first_name }}, welcome to the gold plan.",
}
Json = dict[str, Any]


def stats(values_s: list[float]) -> Json:
    ordered = sorted(v * 1000 for v in values_s)
    if not ordered:
        return {"n": 0}
    return {
        "n": len(ordered),
        **{f"p{q}_ms": round(percentile(ordered, q), 1) for q in (50, 95, 99)},
        "max_ms": round(ordered[-1], 1),
    }


async def setup(client: httpx.AsyncClient, admin: dict[str, str]) -> tuple[str, str, str]:
    """A gold-plan segment and an active flow emailing whoever enters it: (workspace, segment, flow)."""
    workspace = (await client.get("/api/workspaces/current", headers=admin)).json()["id"]
    rule = {"field": "traits.plan", "op": "eq", "value": "gold"}
    answer = await client.post("/api/segments", json={"name": unique("gold"), "rule": rule}, headers=admin)
    assert answer.status_code == 201, answer.text
    segment = answer.json()["id"]
    flow = {
        "name": unique("first-email"),
        "trigger": {"type": "segment_entered", "segment_id": segment},
        "entry_step": "hello",
        "steps": [
            {"id": "hello", "type": "send_email", "template": TEMPLATE, "next": "done"},
            {"id": "done", "type": "exit"},
        ],
        "reentry": {"policy": "never"},
    }
    answer = await client.post("/api/flows", json=flow, headers=admin)
    assert answer.status_code == 201, answer.text
    flow_id = answer.json()["id"]
    answer = await client.post(f"/api/flows/{flow_id}/activate", headers=admin)
    assert answer.json().get("status") == "active", answer.text
    return workspace, segment, flow_id


def identify(user: str) -> Json:
    traits = {"email": f"{user}@bench.example", "first_name": "Gold", "plan": "gold"}
    return {"type": "identify", "userId": user, "traits": traits, "messageId": unique("m")}


def page(index: int, prefix: str) -> Json:
    user = f"{prefix}-n{index % NOISE_USERS}"
    properties = {"path": f"/p/{index % 500}", "title": "A product"}
    return {
        "type": "page",
        "userId": user,
        "name": "Product",
        "messageId": unique("m"),
        "properties": properties,
    }


class Load:
    """Paced `/v1/batch` posts: customers at `rate`/s (their send times kept) and noise at `noise`/s."""

    def __init__(self, client: httpx.AsyncClient, write_key: str, prefix: str) -> None:
        self.client, self.prefix, self.write = client, prefix, (write_key, "")
        self.sent: dict[str, float] = {}
        self.failures: list[str] = []
        self.noise_sent = 0
        self.posts: set[asyncio.Task[None]] = set()

    async def post(self, calls: list[Json]) -> None:
        try:
            answer = await self.client.post("/v1/batch", json={"batch": calls}, auth=self.write)
            if answer.status_code != 200 or answer.json().get("accepted") != len(calls):
                self.failures.append(f"{answer.status_code} {answer.text[:200]}")
        except httpx.HTTPError as error:
            self.failures.append(repr(error))

    def fire(self, calls: list[Json]) -> None:
        task = asyncio.create_task(self.post(calls))
        self.posts.add(task)
        task.add_done_callback(self.posts.discard)

    async def customers(self, rate: float, seconds: float) -> None:
        began, total = time.perf_counter(), int(rate * seconds)
        while len(self.sent) < total:
            due = min(total, int(rate * (time.perf_counter() - began)) + 1)
            users = [f"{self.prefix}-c{n}" for n in range(len(self.sent), due)]
            if users:
                now = time.time()
                self.sent.update({user: now for user in users})
                self.fire([identify(user) for user in users])
            await asyncio.sleep(TICK_S)

    async def noise(self, rate: float, stop: asyncio.Event) -> None:
        began = time.perf_counter()
        while not stop.is_set() and rate > 0:
            due = int(rate * (time.perf_counter() - began))
            if due > self.noise_sent:
                self.fire([page(n, self.prefix) for n in range(self.noise_sent, due)])
                self.noise_sent = due
            await asyncio.sleep(TICK_S)

    async def drain(self) -> None:
        while self.posts:
            await asyncio.gather(*list(self.posts))


class Watch:
    """Kafka timestamps per customer (its `segment.entered` of the segment, its flow's send event) and
    the flow's delivery outcomes."""

    def __init__(self, segment: str, flow: str) -> None:
        self.segment, self.flow = segment, flow
        self.entered: dict[str, float] = {}  # by user id
        self.user_of: dict[str, str] = {}  # customer id → user id
        self.sends: dict[str, float] = {}  # by customer id
        self.outcomes: dict[str, int] = {}  # "<status> after <n> attempts" → how many of the flow's sends
        self.stop = asyncio.Event()

    def sent_at(self, user: str, customers: dict[str, str]) -> float | None:
        return self.sends.get(customers.get(user, ""))

    def take(self, topic: str, timestamp_s: float, event: Json) -> None:
        payload = event["payload"]
        if topic == SEGMENT_EVENTS.name:
            if event["type"] == "segment.entered" and payload["segment_id"] == self.segment:
                self.entered.setdefault(payload["user_id"], timestamp_s)
                self.user_of[payload["customer_id"]] = payload["user_id"]
        elif payload.get("flow_id") != self.flow:
            return
        elif topic == CAMPAIGN_SENDS.name:
            self.sends.setdefault(payload["customer_id"], timestamp_s)
        else:
            outcome = f"{payload['status']} after {payload['attempts']} attempts"
            if payload.get("error"):
                outcome += f": {payload['error']}"
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    async def run(self, bootstrap: str, start: dict[TopicPartition, int]) -> None:
        """Read from `start`; once told to stop (every email seen, so every event is on its topic),
        read on until a poll of a second comes back empty."""
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            consumer.assign(list(start))
            for tp, offset in start.items():
                consumer.seek(tp, offset)
            while True:
                batches = await consumer.getmany(timeout_ms=1000 if self.stop.is_set() else 200)
                if self.stop.is_set() and not batches:
                    return
                for tp, records in batches.items():
                    for record in records:
                        self.take(tp.topic, record.timestamp / 1000, orjson.loads(record.value))
        finally:
            await consumer.stop()


async def lags(bootstrap: str) -> dict[str, int]:
    """Messages each campaigns consumer group has not committed yet, per topic (commits lag a little)."""
    wanted = {
        "campaigns": (SEGMENT_EVENTS.name, CUSTOMER_EVENTS.name, PROFILE_SNAPSHOTS.name),
        "campaigns-delivery": (CAMPAIGN_SENDS.name,),
    }
    out = {}
    for group, topics in wanted.items():
        for topic in topics:
            committed, end = await committed_and_end(bootstrap, group, topic)
            out[f"{group} {topic}"] = end - committed
    return out


async def first_emails(
    client: httpx.AsyncClient, admin: dict[str, str], users: list[str], deadline: float
) -> dict[str, float]:
    """Each user's first email's `received_at` (epoch s), reading the sink until `deadline` (monotonic)."""
    found: dict[str, float] = {}
    gate = asyncio.Semaphore(8)

    async def read(user: str) -> None:
        async with gate:
            answer = await client.get(
                "/api/outbox/emails", params={"to": f"{user}@bench.example"}, headers=admin
            )
        answer.raise_for_status()
        times = [datetime.fromisoformat(mail["received_at"]).timestamp() for mail in answer.json()["items"]]
        if times:
            found[user] = min(times)

    while True:
        await asyncio.gather(*(read(user) for user in users if user not in found))
        if len(found) == len(users) or time.monotonic() > deadline:
            return found
        await asyncio.sleep(1.0)


async def kafka_hops(settings: ServiceSettings, count: int) -> list[float]:
    """Seconds from a bare producer's send() to a bare read_committed consumer holding the record."""
    topic = unique("bench-floor")
    await create_topics(settings.kafka_bootstrap_servers, topic)
    producer = AIOKafkaProducer(**producer_options(settings))
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await producer.start()
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        consumer.seek(TopicPartition(topic, 0), 0)  # a new topic: everything on it is ours
        await producer.send_and_wait(topic, b"warm-up")
        await consumer.getone()
        hops = []
        for n in range(count):
            began = time.perf_counter()
            await producer.send(topic, key=b"k", value=b'{"n": %d, "floor": true}' % n)
            await consumer.getone()
            hops.append(time.perf_counter() - began)
        return hops
    finally:
        await consumer.stop()
        await producer.stop()


async def smtp_sends(port: int, count: int) -> list[float]:
    """Seconds of one bare aiosmtplib send (connect, send, quit) of a mail like the flow's, to the sink."""
    times = []
    for n in range(count):
        mail = EmailMessage()
        mail["From"], mail["To"] = "CDP <no-reply@cdp.local>", "floor@bench.example"
        mail["Subject"], mail["Message-ID"] = "Welcome Gold", f"<{unique('floor')}.{n}@cdp.local>"
        mail.set_content(TEMPLATE["text"] + "\n\nUnsubscribe: http://127.0.0.1/t/unsubscribe/" + "x" * 120)
        mail.add_alternative(
            TEMPLATE["html"] + "<img src='http://127.0.0.1/t/o/" + "x" * 120 + "'>", subtype="html"
        )
        began = time.perf_counter()
        await aiosmtplib.send(mail, hostname="127.0.0.1", port=port)
        times.append(time.perf_counter() - began)
    return times


async def measure(stack: Stack, args: argparse.Namespace) -> Json:
    bootstrap = stack.env["KAFKA_BOOTSTRAP_SERVERS"]
    settings = ServiceSettings(kafka_bootstrap_servers=bootstrap, service_name="bench-floor")
    admin = {"authorization": f"Bearer {stack.credentials.admin_key}"}
    write_key = stack.credentials.write_key
    stack_pids = [p.popen.pid for p in stack.procs if p.popen is not None]
    roles = {name: pid_of(stack, name) for name in ROLES}
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        workspace, segment, flow = await setup(client, admin)
        prefix = unique("fe")
        warm = Load(client, write_key, prefix + "w")
        await warm.customers(WARMUP / 0.5, 0.5)
        await warm.drain()
        got = await first_emails(client, admin, list(warm.sent), time.monotonic() + 180)
        if len(got) < len(warm.sent) or warm.failures:
            raise RuntimeError(f"warm-up: {len(got)} of {len(warm.sent)} emails; {warm.failures[:3]}")
        log(f"warm-up: {len(got)} emails in {max(got.values()) - min(warm.sent.values()):.1f} s")

        load, stop_noise = Load(client, write_key, prefix), asyncio.Event()
        watch = Watch(segment, flow)
        start: dict[TopicPartition, int] = {}
        for topic in (SEGMENT_EVENTS, CAMPAIGN_SENDS, DELIVERY_RESULTS):
            start |= await end_offsets(bootstrap, topic.name)
        watcher = asyncio.create_task(watch.run(bootstrap, start))
        noise = asyncio.create_task(load.noise(args.noise, stop_noise))
        await asyncio.sleep(3)  # the noise reaches the workers before the floor and the customers
        hops = await kafka_hops(settings, args.floor_n)
        smtp = await smtp_sends(stack.layout.ports.service(SMTP_SINK_OFFSET), args.floor_smtp_n)
        log(f"floor: kafka hop {stats(hops)}, smtp {stats(smtp)}")
        load_before, cpu_before = os.getloadavg(), CpuSample.take(roles, stack_pids)
        await load.customers(args.rate, args.duration)
        cpu_after, load_after = CpuSample.take(roles, stack_pids), os.getloadavg()
        backlog = await lags(bootstrap)
        log(f"sent {len(load.sent)} customers and {load.noise_sent} page calls; campaigns lag {backlog}")
        users = list(load.sent)
        # The noise runs on past the last customer, so the last ones' emails travel under it too.
        await asyncio.sleep(TAIL_S)
        stop_noise.set()
        await noise
        await load.drain()
        emails = await first_emails(client, admin, users, time.monotonic() + args.timeout - TAIL_S)
        cpu_done = CpuSample.take(roles, stack_pids)
        watch.stop.set()
        await watcher

    timeout = args.timeout
    on_time = {u: t for u, t in emails.items() if t - load.sent[u] <= timeout}
    missing = [u for u in users if u not in on_time]
    entered, customers = watch.entered, {u: c for c, u in watch.user_of.items()}
    entered_to_email = [on_time[u] - entered[u] for u in on_time if u in entered]
    sent_to_email = [on_time[u] - load.sent[u] for u in on_time]
    sent_to_entered = [entered[u] - load.sent[u] for u in users if u in entered]
    send_at = {u: t for u in users if (t := watch.sent_at(u, customers)) is not None}
    entered_to_send = [send_at[u] - entered[u] for u in send_at if u in entered]
    send_to_email = [on_time[u] - send_at[u] for u in on_time if u in send_at]
    # The figure per third of the customers in send order: a queue that grows shows as a rising p50.
    thirds = [users[i * len(users) // 3 : (i + 1) * len(users) // 3] for i in range(3)]
    by_third = [
        stats([on_time[u] - entered[u] for u in third if u in on_time and u in entered]) for third in thirds
    ]
    hop_p50, smtp_p50 = percentile(sorted(hops), 50), percentile(sorted(smtp), 50)
    floor = 2 * hop_p50 + smtp_p50
    figure = stats(entered_to_email)
    return {
        "settings": {
            k: getattr(args, k) for k in ("rate", "duration", "noise", "timeout", "floor_n", "floor_smtp_n")
        },
        "workspace": workspace,
        "segment": segment,
        "flow": flow,
        "customers": len(users),
        "noise_calls": load.noise_sent,
        "post_failures": len(load.failures),
        "failure_samples": load.failures[:5],
        "entered": len([u for u in users if u in entered]),
        "emails": len(on_time),
        "missing_within_timeout": len(missing),
        "missing_samples": missing[:5],
        "entered_to_email": figure,
        "sent_to_email": stats(sent_to_email),
        "sent_to_entered": stats(sent_to_entered),
        "entered_to_send_event": stats(entered_to_send),
        "send_event_to_email": stats(send_to_email),
        "entered_to_email_by_third": by_third,
        "campaigns_lag_at_end_of_load": backlog,
        "floor": {
            "kafka_hop": stats(hops),
            "smtp_send": stats(smtp),
            "hops": 2,
            "floor_ms": round(floor * 1000, 1),
        },
        "ratio_p50_to_floor": round(figure["p50_ms"] / (floor * 1000), 2) if figure["n"] else None,
        "target": {"entered_to_email_p99_ms": TARGET_P99_MS},
        "met": bool(figure["n"]) and figure["p99_ms"] <= TARGET_P99_MS,
        "load_average": {"before_load": load_before, "after_load": load_after},
        "foreign_cpu_share": round(cpu_after.foreign_share(cpu_before), 3),
        # Cores each process used during the customers' seconds: ~1.0 is a Python process saturated.
        "cores_used": {
            role: round(seconds / (cpu_after.wall - cpu_before.wall), 2)
            for role, seconds in cpu_after.role_seconds(cpu_before).items()
        },
        # CPU per customer from the first customer to the last email read (noise included): the figure
        # the machine's other load disturbs least.
        "cpu_ms_per_customer": {
            role: round(seconds * 1000 / max(1, len(users)), 1)
            for role, seconds in cpu_done.role_seconds(cpu_before).items()
        },
        "delivery_outcomes": watch.outcomes,
        "valid": not missing and not load.failures,
    }


def table(result: Json) -> str:
    rows: list[tuple[str, ...]] = [("figure", "p50 ms", "p95 ms", "p99 ms", "max ms", "n")]
    for name in (
        "entered_to_email",
        "sent_to_email",
        "sent_to_entered",
        "entered_to_send_event",
        "send_event_to_email",
    ):
        s = result[name]
        rows.append((name, *(str(s.get(k, "-")) for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms", "n"))))
    for name in ("kafka_hop", "smtp_send"):
        s = result["floor"][name]
        rows.append(
            (f"floor: {name}", *(str(s.get(k, "-")) for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms", "n")))
        )
    lines = ["  ".join(cell.rjust(8) if i else cell.ljust(22) for i, cell in enumerate(row)) for row in rows]
    thirds = " / ".join(str(s.get("p50_ms", "-")) for s in result["entered_to_email_by_third"])
    lines.append(f"entered→email p50 by third of the customers: {thirds} ms")
    lines.append(f"campaigns consumer lag at the end of the load: {result['campaigns_lag_at_end_of_load']}")
    lines.append(f"cores used during the load: {result['cores_used']}")
    lines.append(f"CPU ms per customer (noise included): {result['cpu_ms_per_customer']}")
    lines.append(f"delivery outcomes: {result['delivery_outcomes']}")
    lines.append(
        f"floor (2 hops + smtp) {result['floor']['floor_ms']} ms; p50(entered→email) ÷ floor "
        f"{result['ratio_p50_to_floor']}; p99 target ≤ {TARGET_P99_MS} ms: "
        f"{'met' if result['met'] else 'NOT met'}; {result['customers']} customers, "
        f"{result['missing_within_timeout']} without an email in {result['settings']['timeout']} s, "
        f"{result['post_failures']} failed posts; load average {result['load_average']['before_load'][0]:.1f}"
        f"→{result['load_average']['after_load'][0]:.1f}, foreign CPU share {result['foreign_cpu_share']}"
    )
    if not result["valid"]:
        lines.append("INVALID RUN: customers without an email in time, or failed posts (see the JSON)")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=20.0, help="new gold customers per second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of customers")
    parser.add_argument("--noise", type=float, default=200.0, help="background page calls per second")
    parser.add_argument("--timeout", type=float, default=30.0, help="s after its identify an email may take")
    parser.add_argument("--floor-n", type=int, default=200, help="bare Kafka round trips for the floor")
    parser.add_argument("--floor-smtp-n", type=int, default=20, help="bare SMTP sends for the floor")
    args = parser.parse_args()
    os.environ.update(GATEWAY_ENV)  # inherited by the stack's processes; only the gateway reads them
    # Every worker stays: the measured path runs through all of them.
    result = on_stack(PROFILE, lambda stack: measure(stack, args), stopped=lambda name: False)
    result["gateway_env"] = GATEWAY_ENV
    save_result(RESULTS, result, "services", "cdpkit", "gateway", "bench/campaigns_first_email.py")
    print(table(result))
    return 0 if result["valid"] else 1


if __name__ == "__main__":
    sys.exit(main())
