"""Topic family `cdp.profiles`: the live customer profile, as a compacted snapshot keyed by customer."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.envelope import Envelope, workspace_key

RfmSegment = Literal[
    "Champions",
    "Loyal",
    "Potential Loyalist",
    "New",
    "At Risk",
    "Can't Lose Them",
    "Hibernating",
    "Lost",
]
ChurnRiskLevel = Literal["low", "medium", "high"]


class Profile(BaseModel):
    """The Customer 360 fields other services may build read models from (docs/customer-360.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    customer_id: str
    user_id: str | None = None
    anonymous_ids: list[str] = Field(default_factory=list)
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    traits: dict[str, Any] = Field(
        default_factory=dict, description="Every other identify trait, the latest value of each."
    )
    email_subscribed: bool | None = Field(
        default=None,
        description="The latest of the `email_subscribed` trait and `Unsubscribed`; null: never told.",
    )
    lifetime_value: float = Field(default=0.0, description="Completed orders' totals minus refunds.")
    orders_count: int = Field(
        default=0, ge=0, description="Completed orders, not cancelled, not wholly refunded."
    )
    average_order_value: float | None = None
    first_order_at: datetime | None = None
    last_order_at: datetime | None = None
    days_since_last_order: int | None = Field(default=None, description="As of the snapshot's publication.")
    favorite_category: str | None = None
    favorite_brand: str | None = None
    recency_score: int | None = Field(default=None, ge=1, le=5)
    frequency_score: int | None = Field(default=None, ge=1, le=5)
    monetary_score: int | None = Field(default=None, ge=1, le=5)
    rfm_segment: RfmSegment | None = None
    last_interaction_at: datetime | None = Field(default=None, description="The latest Support Interaction.")
    last_interaction_type: str | None = None
    average_satisfaction: float | None = Field(default=None, ge=1, le=5)
    website_visits: int = Field(default=0, ge=0, description="Sessions of page/screen views (30-minute gap).")
    average_time_on_site: float | None = Field(default=None, ge=0, description="Seconds per session.")
    campaign_response_rate: float | None = Field(
        default=None, ge=0, le=1, description="Emails opened or clicked per email delivered."
    )
    preferred_channel: str | None = None
    churn_risk: float | None = Field(default=None, ge=0, le=1)
    churn_risk_level: ChurnRiskLevel | None = None
    events_count: int = 0
    first_seen_at: datetime
    last_seen_at: datetime
    created_at: datetime | None = Field(default=None, description="Trait `created_at`, else first seen.")
    updated_at: datetime | None = Field(default=None, description="When the platform last changed it.")
    version: int = Field(ge=1, description="Increases with every change; consumers keep the highest.")


class ProfileSnapshot(Envelope):
    """The whole profile after a change, with the names of the fields that changed."""

    type: Literal["profile.snapshot"] = "profile.snapshot"
    payload: Profile
    changed_fields: list[str] = Field(default_factory=list)


def profile_key(workspace_id: str, customer_id: str) -> bytes:
    """Kafka key of the compacted snapshot topic: the latest snapshot per customer survives."""
    return workspace_key(workspace_id, customer_id)
