"""The one consumer policy: at-least-once, commit after the effect, bounded retries, then the DLQ.

A handler gets one message and makes its effect durable before it returns (idempotently, keyed by
`event_id`). Only then is the offset committed, so a crash at any point redelivers rather than loses.
A handler that raises is retried with exponential backoff up to `max_attempts`; then, or at once for
a `PoisonMessage`, the message goes to the topic's DLQ with the error in its headers and the consumer
moves on. The DLQ send itself is retried until it succeeds: a message is never dropped.

A batch handler (`BatchPolicyHandler`) gets every message of a fetch at once and makes their effect
durable in one go. When the batch fails, it is split in halves (in order) until the message at fault
is alone; that one then goes through the single-message policy above, so one poison message costs a
few extra transactions, never the others' effect.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition

from cdpkit.kafka import Headers, Publisher
from cdpkit.lag import LagMeter, observe_event_age
from cdpkit.logging import log_context
from cdpkit.metrics import CONSUMED, CONSUMER_LATENCY, CONSUMER_RETRIES, DEAD_LETTERED
from cdpkit.settings import ServiceSettings
from cdpkit.tracing import consumer_span
from schemas.envelope import workspace_of_key
from schemas.topics import topic

log = logging.getLogger(__name__)


class PoisonMessage(Exception):
    """The message can never be handled (unreadable or invalid): dead-letter it without retrying."""


@dataclass(frozen=True)
class Consumed:
    """A message as a handler sees it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, bytes] = field(default_factory=dict)
    timestamp_ms: int | None = None  # Kafka's timestamp (when it was produced), for the hop's latency

    @classmethod
    def from_record(cls, record: ConsumerRecord) -> Consumed:
        headers = {name: value for name, value in (record.headers or ())}
        return cls(
            record.topic,
            record.partition,
            record.offset,
            record.key,
            record.value or b"",
            headers,
            record.timestamp,
        )


# A handler returns its outcome for the metrics: "ok", or "duplicate" when the event was seen before.
Handler = Callable[[Consumed], Awaitable[str]]
# A batch handler returns one outcome per message, in order; a `PoisonMessage` in place of an outcome
# says that message can never be handled (it is dead-lettered, the others' effect stands).
BatchHandler = Callable[[Sequence[Consumed]], Awaitable[Sequence["str | PoisonMessage"]]]


@dataclass(frozen=True)
class ConsumerPolicy:
    max_attempts: int = 5
    retry_backoff_s: float = 0.2
    max_backoff_s: float = 10.0
    commit_interval_s: float = 0.0

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> ConsumerPolicy:
        return cls(
            max_attempts=settings.consumer_max_attempts,
            retry_backoff_s=settings.consumer_retry_backoff_ms / 1000,
            commit_interval_s=settings.consumer_commit_interval_ms / 1000,
        )


class PolicyHandler:
    """Applies the policy to one message: retries with backoff, then the DLQ. Raises only when stopping."""

    def __init__(
        self,
        *,
        service: str,
        group_id: str,
        handler: Handler,
        dead_letters: Publisher,
        policy: ConsumerPolicy = ConsumerPolicy(),
        dlq_for: Callable[[str], str] = lambda name: topic(name).dlq,
    ) -> None:
        self.service = service
        self.group_id = group_id
        self.handler = handler
        self.dead_letters = dead_letters
        self.policy = policy
        self.dlq_for = dlq_for
        self.stopping = asyncio.Event()

    async def __call__(self, message: Consumed) -> None:
        event_id = message.headers.get("event-id", b"").decode() or None
        request_id = message.headers.get("x-request-id", b"").decode() or None
        labels = (self.service, message.topic, self.group_id)
        with (
            log_context(event_id=event_id, request_id=request_id, workspace_id=workspace_of_key(message.key)),
            consumer_span(self.service, message.topic, self.group_id, (message.headers,)),
        ):
            for attempt in range(1, self.policy.max_attempts + 1):
                started = time.perf_counter()
                try:
                    outcome = await self.handler(message)
                except PoisonMessage as error:
                    await self._dead_letter(message, error, attempt)
                    return
                except Exception as error:
                    if attempt == self.policy.max_attempts:
                        await self._dead_letter(message, error, attempt)
                        return
                    CONSUMER_RETRIES.labels(*labels).inc()
                    log.warning(
                        "handler failed, will retry", extra={"attempt": attempt, "error": repr(error)}
                    )
                    await asyncio.sleep(self._backoff(attempt))
                    continue
                CONSUMER_LATENCY.labels(*labels).observe(time.perf_counter() - started)
                CONSUMED.labels(*labels, outcome).inc()
                observe_event_age(self.service, self.group_id, (message,))
                return

    async def _dead_letter(self, message: Consumed, error: BaseException, attempts: int) -> None:
        dlq = self.dlq_for(message.topic)
        headers: Headers = [(k, v) for k, v in message.headers.items() if not k.startswith("dlq-")]
        headers += [
            ("dlq-error", str(error)[:2000].encode()),
            ("dlq-error-type", type(error).__name__.encode()),
            ("dlq-traceback", "".join(traceback.format_exception(error))[-4000:].encode()),
            ("dlq-source-topic", message.topic.encode()),
            ("dlq-source-partition", str(message.partition).encode()),
            ("dlq-source-offset", str(message.offset).encode()),
            ("dlq-consumer-group", self.group_id.encode()),
            ("dlq-attempts", str(attempts).encode()),
        ]
        log.error(
            "dead-lettering message", extra={"dlq": dlq, "error": repr(error), "offset": message.offset}
        )
        attempt = 0
        while True:
            try:
                await self.dead_letters.publish(dlq, message.key or b"", message.value, headers)
                break
            except Exception:
                # Without the DLQ copy we may not move past the message: retry until it is stored.
                attempt += 1
                if self.stopping.is_set():
                    raise
                log.exception("DLQ publish failed; retrying")
                await asyncio.sleep(self._backoff(attempt))
        DEAD_LETTERED.labels(self.service, message.topic).inc()
        CONSUMED.labels(self.service, message.topic, self.group_id, "dead_lettered").inc()

    def _backoff(self, attempt: int) -> float:
        return float(min(self.policy.max_backoff_s, self.policy.retry_backoff_s * 2 ** (attempt - 1)))


class BatchPolicyHandler:
    """The policy over a batch: one handler call for all; on failure, halves until the culprit is alone."""

    def __init__(
        self,
        *,
        service: str,
        group_id: str,
        handler: BatchHandler,
        dead_letters: Publisher,
        policy: ConsumerPolicy = ConsumerPolicy(),
        dlq_for: Callable[[str], str] = lambda name: topic(name).dlq,
    ) -> None:
        self.service = service
        self.group_id = group_id
        self.handler = handler
        self.policy = policy
        # A batch of one is an ordinary message: retries with backoff, then the DLQ.
        self.single = PolicyHandler(
            service=service,
            group_id=group_id,
            handler=self._handle_one,
            dead_letters=dead_letters,
            policy=policy,
            dlq_for=dlq_for,
        )
        self.stopping = self.single.stopping

    async def __call__(self, messages: Sequence[Consumed]) -> None:
        if len(messages) == 1:
            await self.single(messages[0])
            return
        if not messages:
            return
        started = time.perf_counter()
        try:
            with consumer_span(self.service, messages[0].topic, self.group_id, [m.headers for m in messages]):
                outcomes = await self.handler(messages)
        except Exception as error:
            # Halving keeps partition order and finds a bad message in log2(n) extra transactions.
            log.warning("batch failed; splitting it", extra={"size": len(messages), "error": repr(error)})
            CONSUMER_RETRIES.labels(self.service, messages[0].topic, self.group_id).inc()
            middle = len(messages) // 2
            await self(messages[:middle])
            await self(messages[middle:])
            return
        CONSUMER_LATENCY.labels(self.service, messages[0].topic, self.group_id).observe(
            time.perf_counter() - started
        )
        counted: dict[tuple[str, str], int] = {}
        for message, outcome in zip(messages, outcomes, strict=True):
            if isinstance(outcome, PoisonMessage):
                await self.single._dead_letter(message, outcome, 1)
            else:
                counted[message.topic, outcome] = counted.get((message.topic, outcome), 0) + 1
        for (name, outcome), count in counted.items():
            CONSUMED.labels(self.service, name, self.group_id, outcome).inc(count)
        observe_event_age(self.service, self.group_id, messages)

    async def _handle_one(self, message: Consumed) -> str:
        [outcome] = await self.handler([message])
        if isinstance(outcome, PoisonMessage):
            raise outcome
        return outcome


class ConsumerRunner:
    """An aiokafka consumer loop that runs a `PolicyHandler` (or a `BatchPolicyHandler`) until `stop()`."""

    def __init__(
        self,
        process: PolicyHandler | BatchPolicyHandler,
        *,
        topics: Sequence[str],
        bootstrap_servers: str,
        max_records: int = 500,
        lag_interval_s: float = 5.0,
    ) -> None:
        self.process = process
        self.service = self.process.service
        self.group_id = self.process.group_id
        self.topics = list(topics)
        self.bootstrap_servers = bootstrap_servers
        self.commit_interval_s = self.process.policy.commit_interval_s
        self.max_records = max_records
        self.lag = LagMeter(self.service, self.group_id, lag_interval_s)
        self._pending: dict[TopicPartition, int] = {}
        self._consumer: AIOKafkaConsumer | None = None

    def stop(self) -> None:
        self.process.stopping.set()

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            group_id=self.group_id,
            client_id=f"{self.service}-{self.group_id}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.max_records,
            isolation_level="read_committed",
        )
        consumer.subscribe(self.topics, listener=_CommitOnRevoke(self))
        self._consumer = consumer
        await consumer.start()
        last_commit = time.monotonic()
        stopping = self.process.stopping
        # Apart from the loop, so lag keeps being reported while a handler is stuck or the topic idle.
        watcher = asyncio.create_task(self.lag.watch(consumer), name=f"lag-{self.group_id}")
        try:
            while not stopping.is_set():
                batches = await consumer.getmany(timeout_ms=200, max_records=self.max_records)
                if isinstance(self.process, BatchPolicyHandler):
                    await self._handle_batch(consumer, batches)
                else:
                    await self._handle_each(consumer, batches)
                if self._pending and time.monotonic() - last_commit >= self.commit_interval_s:
                    await self.commit()
                    last_commit = time.monotonic()
        finally:
            watcher.cancel()
            try:
                await self.commit()
            finally:
                await consumer.stop()

    async def _handle_each(
        self, consumer: AIOKafkaConsumer, batches: dict[TopicPartition, list[ConsumerRecord]]
    ) -> None:
        assert isinstance(self.process, PolicyHandler)
        for tp, records in batches.items():
            for record in records:
                if self.process.stopping.is_set():
                    break
                await self.process(Consumed.from_record(record))
                self._pending[tp] = record.offset + 1
                self.lag.handled(consumer, tp, record.offset + 1)

    async def _handle_batch(
        self, consumer: AIOKafkaConsumer, batches: dict[TopicPartition, list[ConsumerRecord]]
    ) -> None:
        assert isinstance(self.process, BatchPolicyHandler)
        messages = [Consumed.from_record(record) for records in batches.values() for record in records]
        if not messages or self.process.stopping.is_set():
            return
        await self.process(messages)
        for tp, records in batches.items():
            self._pending[tp] = records[-1].offset + 1
            self.lag.handled(consumer, tp, self._pending[tp])

    async def commit(self) -> None:
        """Commit the offsets of every message whose effect is durable."""
        if self._pending and self._consumer is not None:
            offsets, self._pending = self._pending, {}
            await self._consumer.commit(offsets)


class _CommitOnRevoke(ConsumerRebalanceListener):
    """Commits what was handled before partitions move to another replica, to limit redelivery."""

    def __init__(self, runner: ConsumerRunner) -> None:
        self.runner = runner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        try:
            await self.runner.commit()
        except Exception:
            log.warning("commit on revoke failed; the new owner will redeliver (handlers are idempotent)")
        self.runner.lag.forget(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        return None
