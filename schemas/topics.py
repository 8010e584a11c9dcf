"""The registry of topics: versioned names, keys, partitions, retention or compaction, and their DLQs."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from schemas.ai import AiRequested, AiResponded
from schemas.campaigns import DeliveryResult, SendEvent
from schemas.catalog import CatalogEvent
from schemas.customer_events import CustomerEvent
from schemas.identity import IdentityEvent
from schemas.profiles import ProfileSnapshot
from schemas.segments import SegmentEvent

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    """One topic of the platform: what flows in it and how Kafka keeps it."""

    name: str
    value_model: type[BaseModel]
    key: str
    description: str
    partitions: int = 6
    compacted: bool = False
    retention_ms: int = 7 * DAY_MS
    dlq_retention_ms: int = 30 * DAY_MS

    @property
    def dlq(self) -> str:
        """Where messages go that a consumer could not handle after its retries."""
        return f"{self.name}.dlq"

    def kafka_topics(self) -> list[tuple[str, dict[str, str]]]:
        """The topic and its DLQ with the Kafka configuration each is created with."""
        config = {"cleanup.policy": "compact"} if self.compacted else {"retention.ms": str(self.retention_ms)}
        return [(self.name, config), (self.dlq, {"retention.ms": str(self.dlq_retention_ms)})]


CUSTOMER_EVENTS = TopicSpec(
    name="cdp.customer-events.v1",
    value_model=CustomerEvent,
    key="`{workspace_id}:{userId or anonymousId}` — one customer's events stay in order",
    description="Every accepted identify/track/page/screen/group/alias call, published by ingest.",
)

PROFILE_SNAPSHOTS = TopicSpec(
    name="cdp.profile-snapshots.v1",
    value_model=ProfileSnapshot,
    key="`{workspace_id}:{customer_id}` — compaction keeps the latest profile per customer",
    description="The whole profile after each change, published by the profile service through its outbox.",
    compacted=True,
)

IDENTITY_EVENTS = TopicSpec(
    name="cdp.identity-events.v1",
    value_model=IdentityEvent,
    key="`{workspace_id}:{customer_id}` — the survivor of a merge, or the erased customer",
    description="Customers merged into one and customers erased, published by the profile service.",
)

SEGMENT_EVENTS = TopicSpec(
    name="cdp.segment-events.v1",
    value_model=SegmentEvent,
    key="`{workspace_id}:{customer_id}` — one customer's entries and exits stay in order",
    description="Customers entering and leaving segments, published by segmentation through its outbox.",
)

CATALOG_EVENTS = TopicSpec(
    name="cdp.catalog-events.v1",
    value_model=CatalogEvent,
    key="`{workspace_id}:{product_id}` — one product's stock events stay in order",
    description="Products going low on stock and recovering, published by the catalog through its outbox.",
)

CAMPAIGN_SENDS = TopicSpec(
    name="cdp.campaign-sends.v1",
    value_model=SendEvent,
    key="`{workspace_id}:{customer_id}` — one customer's messages stay in order",
    description="Emails and webhooks to deliver, written by the campaign scheduler through its outbox.",
)

DELIVERY_RESULTS = TopicSpec(
    name="cdp.delivery-results.v1",
    value_model=DeliveryResult,
    key="`{workspace_id}:{customer_id}`",
    description="How each send went (delivered, suppressed, failed, bounced), from the delivery worker.",
)

AI_REQUESTS = TopicSpec(
    name="cdp.ai-requests.v1",
    value_model=AiRequested,
    key="`{workspace_id}:{correlation_id}`",
    description="Requests for a segment or campaign draft, from any service, answered by the AI service.",
)

AI_RESPONSES = TopicSpec(
    name="cdp.ai-responses.v1",
    value_model=AiResponded,
    key="`{workspace_id}:{correlation_id}`",
    description="The AI service's drafts (or errors) for the requests, with their correlation ids.",
)

TOPICS: tuple[TopicSpec, ...] = (
    CUSTOMER_EVENTS,
    PROFILE_SNAPSHOTS,
    IDENTITY_EVENTS,
    SEGMENT_EVENTS,
    CATALOG_EVENTS,
    CAMPAIGN_SENDS,
    DELIVERY_RESULTS,
    AI_REQUESTS,
    AI_RESPONSES,
)


def topic(name: str) -> TopicSpec:
    """Look a topic up by name (DLQ names resolve to their source topic)."""
    for spec in TOPICS:
        if name in (spec.name, spec.dlq):
            return spec
    raise KeyError(name)
