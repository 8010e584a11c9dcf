"""Topic families `cdp.campaign-sends` and `cdp.delivery-results`: what to deliver, and how it went.

The campaign service's scheduler writes a send event through its outbox when a flow step or a
broadcast fires; its delivery worker consumes them, renders and delivers (SMTP or webhook), and
publishes the result. `event_id` of a send is deterministic (enrollment, step, visit), so a redo
after a crash is recognised and delivered once.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.envelope import Envelope, workspace_key


class EmailContent(BaseModel):
    """A template's three parts, in Jinja2 (rendered by the delivery worker in a sandbox)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subject: str
    html: str = ""
    text: str = ""


class OfferGrant(BaseModel):
    """An offer given to one customer, with its unique code (`{{ offer.code }}`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["percent", "fixed_amount", "free_item", "voucher"]
    code: str
    value: float | None = None
    item: str | None = None


class SendRequest(BaseModel):
    """What to deliver, to whom, and on behalf of which flow, campaign, step and A/B variant."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: Literal["email", "webhook"]
    customer_id: str
    flow_id: str | None = None
    campaign_id: str | None = None
    step_id: str | None = None
    enrollment_id: str | None = None
    variant: str | None = None
    content: EmailContent | None = None
    marketing: bool = True
    offer: OfferGrant | None = None
    url: str | None = Field(default=None, description="The webhook's URL (channel webhook).")
    body: dict[str, Any] = Field(default_factory=dict, description="The webhook's JSON (channel webhook).")


class SendEvent(Envelope):
    """`send.requested`: deliver this message once."""

    type: Literal["send.requested"] = "send.requested"
    payload: SendRequest


DeliveryStatus = Literal["delivered", "suppressed", "failed", "bounced"]


class DeliveryOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    send_id: str = Field(description="The send event's `event_id`.")
    channel: Literal["email", "webhook"]
    customer_id: str
    status: DeliveryStatus
    to: str | None = None
    flow_id: str | None = None
    campaign_id: str | None = None
    step_id: str | None = None
    variant: str | None = None
    attempts: int = Field(ge=0)
    error: str | None = None


class DeliveryResult(Envelope):
    """`delivery.result`: a send delivered, suppressed (unsubscribed, no consent, no address), or not."""

    type: Literal["delivery.result"] = "delivery.result"
    payload: DeliveryOutcome


def send_key(workspace_id: str, customer_id: str) -> bytes:
    """Kafka key: one customer's messages stay in order."""
    return workspace_key(workspace_id, customer_id)
