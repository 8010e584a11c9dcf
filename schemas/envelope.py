"""The envelope every Kafka message carries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field


def utcnow() -> datetime:
    """Timezone-aware now, the only clock the contracts use."""
    return datetime.now(UTC)


def new_event_id() -> str:
    """A fresh idempotency key for an event this platform originates."""
    return str(uuid.uuid4())


class Envelope(BaseModel):
    """Fields common to every message; subclasses fix `type` and add a typed `payload`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str = Field(
        min_length=1, max_length=200, description="Idempotency key: handlers apply it once."
    )
    workspace_id: str = Field(min_length=1, max_length=64, description="The tenant the event belongs to.")
    type: str = Field(description="What happened, e.g. `track` or `profile.snapshot`.")
    schema_version: int = Field(default=1, ge=1)
    occurred_at: datetime = Field(description="When it happened at the source (clock skew corrected).")
    received_at: datetime = Field(default_factory=utcnow, description="When the platform first received it.")


def workspace_key(workspace_id: str, local_id: str) -> bytes:
    """Every topic's Kafka key: `{workspace_id}:{id within it}`, so one subject's messages stay in order."""
    return f"{workspace_id}:{local_id}".encode()


def workspace_of_key(key: bytes | None) -> str | None:
    """The workspace a message's key names, if it is a `workspace_key`."""
    if key and b":" in key:
        return key.split(b":", 1)[0].decode(errors="replace")
    return None
