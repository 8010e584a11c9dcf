"""What campaigns does with the events it consumes, a batch per transaction, each event once.

- `segment.entered` / `segment.exited`: the membership read model, and enrollment in active flows
  triggered by that segment (under each flow's re-entry policy).
- tracked events: enrollment in flows triggered by that event (property filters), exits by a flow's
  `exit_when`, waits that end (`wait_for_event`), redemption of an offer code on an order, and the
  order's attribution to the send the customer last opened or clicked (`domain/attribution.py`).
- profile snapshots: the contacts read model (newest version wins; a tombstone forgets).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeGuard

import orjson
from pydantic import ValidationError

from cdpkit.consumer import Consumed, PoisonMessage
from schemas.customer_events import CustomerEvent, Track
from schemas.profiles import ProfileSnapshot
from schemas.segments import SegmentEvent
from schemas.topics import CUSTOMER_EVENTS, PROFILE_SNAPSHOTS, SEGMENT_EVENTS
from services.campaigns.adapters.definitions import flow_of
from services.campaigns.adapters.unit_of_work import CampaignUnitOfWork
from services.campaigns.domain.attribution import credited
from services.campaigns.domain.flow import EventTrigger
from services.campaigns.domain.journey import Position, event_arrived, start
from services.campaigns.domain.matching import matches, may_enroll

CONSUMER = "campaigns.intake"
COUPON_PROPERTIES = ("coupon", "coupon_code", "discount_code")
ORDER_COMPLETED = "Order Completed"
ATTRIBUTION_WINDOW = timedelta(days=5)


IGNORED = "ignored"


def parse(
    message: Consumed,
) -> SegmentEvent | CustomerEvent | ProfileSnapshot | tuple[str, str] | PoisonMessage | str:
    """The typed event of a message (a (workspace, customer) pair for a snapshot tombstone), or
    `IGNORED` for a customer event that is not a track call: pages, identifies and the other calls
    have no effect here, and most of the topic is pages, so they are not validated field by field."""
    try:
        if message.topic == SEGMENT_EVENTS.name:
            return SegmentEvent.model_validate_json(message.value)
        if message.topic == CUSTOMER_EVENTS.name:
            try:
                envelope = orjson.loads(message.value or b"")
            except orjson.JSONDecodeError as error:
                return PoisonMessage(f"not JSON: {error}")
            if not isinstance(envelope, dict) or envelope.get("type") != "track":
                return IGNORED if isinstance(envelope, dict) else PoisonMessage("not a JSON object")
            return CustomerEvent.model_validate(envelope)
        if message.topic == PROFILE_SNAPSHOTS.name:
            if not message.value:
                workspace_id, _, customer_id = (message.key or b"").decode().partition(":")
                return (workspace_id, customer_id)
            return ProfileSnapshot.model_validate_json(message.value)
    except ValidationError as error:
        return PoisonMessage(f"not a valid event of {message.topic}: {error}")
    return PoisonMessage(f"campaigns does not consume {message.topic}")


async def handle_batch(
    messages: Sequence[Consumed],
    uow: CampaignUnitOfWork,
    now: datetime | None = None,
    attribution_window: timedelta = ATTRIBUTION_WINDOW,
) -> list[str | PoisonMessage]:
    """Apply a batch in one transaction; per message `ok`, `duplicate`, or the poison it is."""
    now = now or datetime.now(UTC)
    parsed = [parse(message) for message in messages]
    outcomes: list[str | PoisonMessage] = []
    async with uow:
        snapshots = [p for p in parsed if isinstance(p, ProfileSnapshot)]
        await _contacts(uow, snapshots, [p for p in parsed if isinstance(p, tuple)])
        # One inbox statement for the batch; only events with an effect (pages, identifies... have none).
        keys = [(p.workspace_id, p.event_id) for p in parsed if _has_effect(p)]
        fresh = await uow.first_deliveries(CONSUMER, list(dict.fromkeys(keys)))
        for item in parsed:
            if isinstance(item, PoisonMessage | str):
                outcomes.append(item)
            elif isinstance(item, ProfileSnapshot | tuple):
                outcomes.append("ok")
            elif not _has_effect(item):
                outcomes.append("ignored")
            elif (item.workspace_id, item.event_id) not in fresh:
                outcomes.append("duplicate")
            elif isinstance(item, SegmentEvent):
                outcomes.append(await _segment_event(uow, item, now))
            else:
                outcomes.append(await _customer_event(uow, item, now, attribution_window))
            if isinstance(item, SegmentEvent | CustomerEvent):
                fresh.discard((item.workspace_id, item.event_id))  # a second copy in the batch: duplicate
        await uow.commit()
    return outcomes


def _has_effect(item: object) -> TypeGuard[SegmentEvent | CustomerEvent]:
    """Segment events and tracked events enrol, exit, wait and attribute; other calls do nothing here."""
    return isinstance(item, SegmentEvent) or (
        isinstance(item, CustomerEvent) and isinstance(item.payload, Track)
    )


async def _contacts(
    uow: CampaignUnitOfWork, snapshots: list[ProfileSnapshot], gone: list[tuple[str, str]]
) -> None:
    latest: dict[tuple[str, str], ProfileSnapshot] = {}
    for snapshot in snapshots:
        key = (snapshot.workspace_id, snapshot.payload.customer_id)
        if key not in latest or latest[key].payload.version < snapshot.payload.version:
            latest[key] = snapshot
    rows = []
    for (workspace_id, customer_id), snapshot in sorted(latest.items()):
        profile = snapshot.payload
        rows.append(
            (
                workspace_id,
                customer_id,
                profile.user_id,
                profile.email,
                orjson.dumps(profile.anonymous_ids).decode(),
                profile.model_dump_json(),
                profile.version,
            )
        )
    await uow.journeys.upsert_contacts(rows)
    await uow.journeys.forget_contacts(gone)


async def _segment_event(uow: CampaignUnitOfWork, event: SegmentEvent, now: datetime) -> str:
    m = event.payload
    if event.type == "segment.exited":
        await uow.journeys.leave(event.workspace_id, m.segment_id, m.customer_id)
        return "ok"
    await uow.journeys.enter(event.workspace_id, m.segment_id, m.customer_id, event.occurred_at)
    for flow in await uow.definitions.active_flows(event.workspace_id, "segment_entered", m.segment_id):
        await enroll(uow, event.workspace_id, flow, m.customer_id, now, cause=event.event_id)
    return "ok"


async def enroll(
    uow: CampaignUnitOfWork,
    workspace_id: str,
    flow: dict[str, Any],
    customer_id: str,
    now: datetime,
    cause: str,
) -> bool:
    """Enroll the customer under the flow's re-entry policy; False when the policy says no."""
    definition = flow_of(flow)
    earlier, running = await uow.journeys.enrollment_record(workspace_id, flow["flow_id"], customer_id)
    if not may_enroll(definition.reentry, earlier, running, now):
        return False
    position = start(definition, now)
    return await uow.journeys.enroll(
        workspace_id, flow["flow_id"], customer_id, len(earlier) + 1, position.step, now, cause
    )


async def _customer_event(
    uow: CampaignUnitOfWork, event: CustomerEvent, now: datetime, window: timedelta
) -> str:
    call = event.payload
    if not isinstance(call, Track):
        return "ok"
    workspace_id = event.workspace_id
    customer_id = await uow.journeys.customer_id(workspace_id, call.user_id, call.anonymous_id)
    refs = sorted({r for r in (customer_id, call.user_id, call.anonymous_id) if r})
    for flow in await uow.definitions.active_flows(workspace_id, "event", call.event):
        trigger = flow_of(flow).trigger
        if isinstance(trigger, EventTrigger) and matches(trigger.properties, call.properties):
            await enroll(uow, workspace_id, flow, customer_id, now, cause=event.event_id)
    running = await uow.journeys.running_for(workspace_id, refs)
    if running:
        flows = await uow.definitions.flows_by_id({(workspace_id, r["flow_id"]) for r in running})
        await _follow(uow, workspace_id, running, flows, call, now)
    if call.event != ORDER_COMPLETED:
        return "ok"
    revenue = call.properties.get("total") or call.properties.get("revenue")
    order_id = str(call.properties.get("order_id") or event.event_id)
    number = float(revenue) if isinstance(revenue, int | float) else None
    code = next((str(call.properties[p]) for p in COUPON_PROPERTIES if call.properties.get(p)), None)
    if code:
        await uow.journeys.redeem(workspace_id, code, order_id, number, event.occurred_at)
    await _attribute(uow, event, refs, order_id, number, window)
    return "ok"


async def _attribute(
    uow: CampaignUnitOfWork,
    event: CustomerEvent,
    refs: list[str],
    order_id: str,
    revenue: float | None,
    window: timedelta,
) -> None:
    """Credit the order to the send last opened or clicked within the window before it (its event time)."""
    at = event.occurred_at
    touches = await uow.engagement.touches(event.workspace_id, refs, at - window, at)
    found = credited(touches, at, window)
    if found is not None:
        touch, touched_at = found
        await uow.engagement.attribute(
            event.workspace_id, order_id, event.event_id, touch, touched_at, revenue, at
        )


async def _follow(
    uow: CampaignUnitOfWork,
    workspace_id: str,
    running: list[dict[str, Any]],
    flows: dict[tuple[str, str], dict[str, Any]],
    call: Track,
    now: datetime,
) -> None:
    """Exit criteria and waits for events, on the customer's running enrollments."""
    moves: list[tuple[str, str, str, str, datetime | None, str | None, int, str]] = []
    for row in running:
        flow = flow_of(flows[(workspace_id, row["flow_id"])])
        at = now.isoformat()
        if any(c.event == call.event and matches(c.properties, call.properties) for c in flow.exit_when):
            entry = {"at": at, "step": row["step_id"], "outcome": "exited", "event": call.event}
            moves.append(
                (
                    workspace_id,
                    row["enrollment_id"],
                    row["step_id"],
                    "exited",
                    None,
                    row["variant"],
                    row["visits"],
                    orjson.dumps([entry]).decode(),
                )
            )
            continue
        position = Position(row["step_id"], row["state"], row["due_at"], row["variant"])
        moved = event_arrived(flow, position, call.event, now)
        if moved is not None:
            entry = {"at": at, "step": row["step_id"], "outcome": "event_arrived", "event": call.event}
            moves.append(
                (
                    workspace_id,
                    row["enrollment_id"],
                    moved.step,
                    moved.state,
                    moved.due_at,
                    moved.variant,
                    row["visits"],
                    orjson.dumps([entry]).decode(),
                )
            )
    await uow.journeys.move(moves, now)
