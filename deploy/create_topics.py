"""Create the platform's Kafka topics (and their DLQs), then exit.

Run: KAFKA_BOOTSTRAP_SERVERS=kafka:9092 python -m deploy.create_topics

docker-compose.yml runs it as the one-shot `topics` service before any service starts: the broker
does not create topics on first use (auto.create.topics.enable=false). Topics that already exist are
left alone, so running it again is harmless. It waits up to 60 s for Kafka to answer.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time

from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError

from cdpkit.kafka import ensure_topics
from cdpkit.logging import configure_logging
from schemas.topics import TOPICS

RETRY_FOR_S = 60.0
RETRY_EVERY_S = 2.0
# What a broker that is still starting (or a name not yet in DNS) looks like from here.
UNREACHABLE = (KafkaConnectionError, KafkaTimeoutError, TimeoutError, OSError)

log = logging.getLogger("deploy.create_topics")


def create_topics(bootstrap: str, retry_for_s: float = RETRY_FOR_S) -> list[str]:
    """Create the missing topics, retrying while Kafka is unreachable; return the names created."""
    deadline = time.monotonic() + retry_for_s
    while True:
        try:
            return asyncio.run(ensure_topics(bootstrap, TOPICS))
        except UNREACHABLE as exc:
            if time.monotonic() + RETRY_EVERY_S > deadline:
                raise
            log.info("kafka not reachable yet, retrying", extra={"bootstrap": bootstrap, "error": repr(exc)})
            time.sleep(RETRY_EVERY_S)


def main() -> int:
    """Entry point: read KAFKA_BOOTSTRAP_SERVERS, create the topics, report what was created."""
    configure_logging("topics")
    # aiokafka logs every refused connection as an error; our own retry line already carries it.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
    if not bootstrap:
        log.error("KAFKA_BOOTSTRAP_SERVERS is not set")
        return 2
    try:
        created = create_topics(bootstrap)
    except UNREACHABLE as exc:
        log.error("kafka did not answer in time", extra={"bootstrap": bootstrap, "error": repr(exc)})
        return 1
    log.info("topics ready", extra={"topics_created": created})
    return 0


if __name__ == "__main__":
    sys.exit(main())
