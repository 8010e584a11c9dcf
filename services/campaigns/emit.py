"""What a fired step or broadcast emits: send events (email, webhook) and trait updates, as outbox rows.

Every id is derived from what caused it (enrollment, step, visit; or campaign and customer), so a
redo after a crash produces the same messages, which consumers recognise and apply once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import orjson

from cdpkit.kafka import encode_plain, standard_headers
from cdpkit.outbox import OutboxMessage
from schemas.campaigns import send_key
from schemas.customer_events import CustomerEvent, Identify, Track, customer_event_key
from schemas.topics import CAMPAIGN_SENDS, CUSTOMER_EVENTS
from services.campaigns.domain.journey import Effect

CAMPAIGNS_SOURCE = "campaigns"
SEND_TYPE = "send.requested"


def stable_id(prefix: str, *parts: str) -> str:
    """A short deterministic id: the same parts always give the same id."""
    return f"{prefix}-{hashlib.sha256(':'.join(parts).encode()).hexdigest()[:40]}"


@dataclass
class Emission:
    """The rows one transaction writes for its fired steps: outbox messages, sends, offers."""

    messages: list[OutboxMessage]
    sends: list[tuple[Any, ...]]
    offers: list[tuple[str, str, str, str | None, str | None, str, str]]

    @classmethod
    def empty(cls) -> Emission:
        return cls([], [], [])

    def send(self, workspace_id: str, event_id: str, request: dict[str, Any], now: datetime) -> None:
        """Queue a send event and its `sends` row (which the frequency cap and metrics count).

        The event is built as a plain dict in `SendEvent`'s field order and encoded with orjson:
        the scheduler emits thousands a second, and pydantic's validation and dump were most of its
        CPU. A test holds the bytes equal to `encode(SendEvent(...))`.
        """
        event = {
            "event_id": event_id,
            "workspace_id": workspace_id,
            "type": SEND_TYPE,
            "schema_version": 1,
            "occurred_at": now,
            "received_at": now,
            "payload": request,
        }
        customer_id = request["customer_id"]
        self.messages.append(
            (
                CAMPAIGN_SENDS.name,
                send_key(workspace_id, customer_id),
                encode_plain(event),
                standard_headers(SEND_TYPE, event_id),
            )
        )
        self.sends.append(
            (
                workspace_id,
                event_id,
                request["channel"],
                customer_id,
                request["flow_id"],
                request["campaign_id"],
                request["step_id"],
                request["variant"],
                now,
            )
        )
        if (offer := request["offer"]) is not None:
            self.offers.append(
                (
                    workspace_id,
                    offer["code"],
                    customer_id,
                    request["flow_id"],
                    request["campaign_id"],
                    request["step_id"] or "",
                    orjson.dumps(offer).decode(),
                )
            )


def send_request(
    channel: str,
    customer_id: str,
    *,
    flow_id: str | None = None,
    campaign_id: str | None = None,
    step_id: str | None = None,
    enrollment_id: str | None = None,
    variant: str | None = None,
    content: dict[str, Any] | None = None,
    marketing: bool = True,
    offer: dict[str, Any] | None = None,
    url: str | None = None,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A `SendRequest` as a plain dict, every field in the model's order."""
    return {
        "channel": channel,
        "customer_id": customer_id,
        "flow_id": flow_id,
        "campaign_id": campaign_id,
        "step_id": step_id,
        "enrollment_id": enrollment_id,
        "variant": variant,
        "content": content,
        "marketing": marketing,
        "offer": offer,
        "url": url,
        "body": body or {},
    }


def email_content(source: dict[str, Any]) -> dict[str, Any]:
    """An `EmailContent` as a plain dict, from a template row or an inline template."""
    return {"subject": source["subject"], "html": source.get("html") or "", "text": source.get("text") or ""}


def emit_effect(
    out: Emission,
    effect: Effect,
    *,
    workspace_id: str,
    flow_id: str,
    enrollment_id: str,
    customer_id: str,
    profile: dict[str, Any] | None,
    template: dict[str, Any] | None,
    now: datetime,
) -> str | None:
    """Add the effect's messages; the reason when it could not be emitted (e.g. its template is gone)."""
    event_id = stable_id("send", workspace_id, enrollment_id, effect.step, str(effect.visit))
    spec = effect.spec
    ids: dict[str, Any] = {
        "flow_id": flow_id,
        "step_id": effect.step,
        "enrollment_id": enrollment_id,
        "variant": spec.get("variant"),
    }
    if effect.kind == "email":
        content = spec.get("template") or template
        if content is None:
            return f"template {spec.get('template_id')!r} does not exist"
        offer = spec.get("offer")
        grant = None
        if offer:
            grant = {
                "type": offer["type"],
                "code": spec["offer_code"],
                "value": offer.get("value"),
                "item": offer.get("item"),
            }
        marketing = bool(spec.get("marketing", True) and (template or {}).get("marketing", True))
        request = send_request(
            "email", customer_id, content=email_content(content), marketing=marketing, offer=grant, **ids
        )
        out.send(workspace_id, event_id, request, now)
    elif effect.kind == "webhook":
        request = send_request("webhook", customer_id, url=spec["url"], body=spec["body"], **ids)
        out.send(workspace_id, event_id, request, now)
    else:
        return trait_update(out, workspace_id, event_id, profile, customer_id, spec["traits"], now)
    return None


def trait_update(
    out: Emission,
    workspace_id: str,
    event_id: str,
    profile: dict[str, Any] | None,
    customer_id: str,
    traits: dict[str, Any],
    now: datetime,
) -> str | None:
    """An identify call on the customer-events topic, as ingest would publish it: the profile folds it."""
    message = customer_call(workspace_id, event_id, profile, now, partial(Identify, traits=traits))
    if message is None:
        return "the customer has no user or anonymous id to update"
    out.messages.append(message)
    return None


def customer_call(
    workspace_id: str,
    event_id: str,
    profile: dict[str, Any] | None,
    now: datetime,
    call_of: Callable[..., Identify | Track],
) -> OutboxMessage | None:
    """The customer's call (`call_of` given its ids) as an outbox message onto the customer-events topic.

    Published as ingest would, with header `source: campaigns`; None when the profile names no user
    or anonymous id to key it by.
    """
    user_id = (profile or {}).get("user_id")
    anonymous = ((profile or {}).get("anonymous_ids") or [None])[0]
    if not user_id and not anonymous:
        return None
    call = call_of(message_id=event_id, user_id=user_id, anonymous_id=None if user_id else anonymous)
    event = CustomerEvent(
        event_id=event_id,
        workspace_id=workspace_id,
        type=call.type,
        occurred_at=now,
        received_at=now,
        payload=call,
    )
    return (
        CUSTOMER_EVENTS.name,
        customer_event_key(workspace_id, call.customer_key),
        event.model_dump_json().encode(),
        [*standard_headers(event.type, event.event_id), ("source", CAMPAIGNS_SOURCE.encode())],
    )
