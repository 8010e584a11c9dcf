"""Topic family `cdp.customer-events`: what customers did, as accepted by ingest (Segment's call types)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.envelope import Envelope, workspace_key

JsonObject = dict[str, Any]


class _Call(BaseModel):
    """What every Segment call has: who (user or anonymous id) and the context it came with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    message_id: str = Field(min_length=1, max_length=200)
    user_id: str | None = Field(default=None, max_length=200)
    anonymous_id: str | None = Field(default=None, max_length=200)
    context: JsonObject = Field(default_factory=dict)
    integrations: JsonObject = Field(default_factory=dict)

    @model_validator(mode="after")
    def _needs_an_identity(self) -> _Call:
        if not self.user_id and not self.anonymous_id:
            raise ValueError("userId or anonymousId is required")
        return self

    @property
    def customer_key(self) -> str:
        """The identity that keys the customer's events: userId when known, else anonymousId."""
        return self.user_id or self.anonymous_id or ""


class Identify(_Call):
    type: Literal["identify"] = "identify"
    traits: JsonObject = Field(default_factory=dict)


class Track(_Call):
    type: Literal["track"] = "track"
    event: str = Field(min_length=1, max_length=200)
    properties: JsonObject = Field(default_factory=dict)


class Page(_Call):
    type: Literal["page"] = "page"
    name: str | None = None
    category: str | None = None
    properties: JsonObject = Field(default_factory=dict)


class Screen(_Call):
    type: Literal["screen"] = "screen"
    name: str | None = None
    category: str | None = None
    properties: JsonObject = Field(default_factory=dict)


class Group(_Call):
    type: Literal["group"] = "group"
    group_id: str = Field(min_length=1, max_length=200)
    traits: JsonObject = Field(default_factory=dict)


class Alias(_Call):
    type: Literal["alias"] = "alias"
    previous_id: str = Field(min_length=1, max_length=200)


CustomerCall = Annotated[Identify | Track | Page | Screen | Group | Alias, Field(discriminator="type")]


class CustomerEvent(Envelope):
    """One customer call in its envelope; `type` repeats the call type for routing without parsing."""

    type: Literal["identify", "track", "page", "screen", "group", "alias"]
    payload: CustomerCall

    @model_validator(mode="after")
    def _type_matches_payload(self) -> CustomerEvent:
        if self.type != self.payload.type:
            raise ValueError(f"envelope type {self.type!r} does not match payload type {self.payload.type!r}")
        return self


def customer_event_key(workspace_id: str, customer_key: str) -> bytes:
    """Kafka key: one customer's events land on one partition, in order."""
    return workspace_key(workspace_id, customer_key)
