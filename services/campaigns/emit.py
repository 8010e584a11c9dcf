"""What a fired step or broadcast emits: send events (email, webhook) and trait updates, as outbox rows.

Every id is derived from what caused it (enrollment, step, visit; or campaign and customer), so a
redo after a crash produces the same messages, which consumers recognise and apply once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from cdpkit.kafka import encode, standard_headers
from cdpkit.outbox import OutboxMessage
from schemas.campaigns import EmailContent, OfferGrant, SendEvent, SendRequest, send_key
from schemas.customer_events import CustomerEvent, Identify, customer_event_key
from schemas.topics import CAMPAIGN_SENDS, CUSTOMER_EVENTS
from services.campaigns.domain.journey import Effect

CAMPAIGNS_SOURCE = "campaigns"


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

    def send(self, event: SendEvent) -> None:
        """Queue a send event and its `sends` row (which the frequency cap and metrics count)."""
        p = event.payload
        self.messages.append(
            (
                CAMPAIGN_SENDS.name,
                send_key(event.workspace_id, p.customer_id),
                encode(event),
                standard_headers(event.type, event.event_id),
            )
        )
        self.sends.append(
            (
                event.workspace_id,
                event.event_id,
                p.channel,
                p.customer_id,
                p.flow_id,
                p.campaign_id,
                p.step_id,
                p.variant,
                event.occurred_at,
            )
        )
        if p.offer is not None:
            offer = orjson.dumps(p.offer.model_dump()).decode()
            self.offers.append(
                (
                    event.workspace_id,
                    p.offer.code,
                    p.customer_id,
                    p.flow_id,
                    p.campaign_id,
                    p.step_id or "",
                    offer,
                )
            )


def send_event(workspace_id: str, event_id: str, request: SendRequest, now: datetime) -> SendEvent:
    return SendEvent(
        event_id=event_id, workspace_id=workspace_id, occurred_at=now, received_at=now, payload=request
    )


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
    base = {
        "customer_id": customer_id,
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
            grant = OfferGrant(
                type=offer["type"], code=spec["offer_code"], value=offer.get("value"), item=offer.get("item")
            )
        request = SendRequest(
            channel="email",
            content=EmailContent(
                subject=content["subject"], html=content.get("html", ""), text=content.get("text", "")
            ),
            marketing=bool(spec.get("marketing", True) and (template or {}).get("marketing", True)),
            offer=grant,
            **base,
        )
        out.send(send_event(workspace_id, event_id, request, now))
    elif effect.kind == "webhook":
        request = SendRequest(channel="webhook", url=spec["url"], body=spec["body"], **base)
        out.send(send_event(workspace_id, event_id, request, now))
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
    user_id = (profile or {}).get("user_id")
    anonymous = ((profile or {}).get("anonymous_ids") or [None])[0]
    if not user_id and not anonymous:
        return "the customer has no user or anonymous id to update"
    call = Identify(
        message_id=event_id, user_id=user_id, anonymous_id=None if user_id else anonymous, traits=traits
    )
    event = CustomerEvent(
        event_id=event_id,
        workspace_id=workspace_id,
        type="identify",
        occurred_at=now,
        received_at=now,
        payload=call,
    )
    out.messages.append(
        (
            CUSTOMER_EVENTS.name,
            customer_event_key(workspace_id, call.customer_key),
            event.model_dump_json().encode(),
            [*standard_headers(event.type, event.event_id), ("source", CAMPAIGNS_SOURCE.encode())],
        )
    )
    return None
