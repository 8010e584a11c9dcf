"""Campaigns end to end: event triggers with property filters, waiting for an event, broadcasts at a
time, suppression of the unsubscribed, offer codes redeemed on orders, and the metrics of it all.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from cdpkit.kafka import Publisher
from deploy.launcher.stack import Stack
from tests.e2e.test_campaigns_flow import (
    Json,
    active_flow,
    emails,
    enrollments,
    enter_segment,
    new_customer,
    workspace_of,
)
from tests.factories import scraped_sample, unique, wait_for


def track(gateway: httpx.Client, write: tuple[str, str], user: str, event: str, **properties: Any) -> None:
    answer = gateway.post(
        "/v1/track", json={"userId": user, "event": event, "properties": properties}, auth=write
    )
    assert answer.status_code == 200, answer.text


def signup_flow(event: str) -> Json:
    return {
        "name": "Signed up",
        "trigger": {"type": "event", "event": event, "properties": {"plan": "pro"}},
        "entry_step": "w",
        "steps": [
            {
                "id": "w",
                "type": "wait_for_event",
                "event": "Order Completed",
                "timeout_seconds": 3,
                "on_event": "thanks",
                "on_timeout": "nudge",
            },
            {"id": "thanks", "type": "send_email", "template": {"subject": "Thanks"}, "next": "end"},
            {
                "id": "nudge",
                "type": "send_email",
                "template": {"subject": "Still thinking?", "text": "Use {{ offer.code }}"},
                "offer": {"type": "fixed_amount", "value": 5},
                "next": "end",
            },
            {"id": "end", "type": "exit"},
        ],
    }


def test_event_trigger_filters_waits_for_the_order_or_nudges_with_an_offer(
    gateway: httpx.Client, admin_headers: dict[str, str], write_auth: tuple[str, str], stack: Stack
) -> None:
    worker = stack.service_url("campaigns-worker")
    fired_before = scraped_sample(worker, "cdp_scheduler_lateness_seconds_count", service="campaigns")
    delivered_before = scraped_sample(
        worker, "cdp_consumer_messages_total", group="campaigns-delivery", outcome="delivered"
    )
    event = unique("Signed Up")
    flow_id = active_flow(gateway, admin_headers, signup_flow(event))
    buyer = new_customer(gateway, admin_headers, write_auth, first_name="Buyer")
    idle = new_customer(gateway, admin_headers, write_auth, first_name="Idle")
    free = new_customer(gateway, admin_headers, write_auth, first_name="Free")

    track(gateway, write_auth, buyer["user_id"], event, plan="pro")
    track(gateway, write_auth, idle["user_id"], event, plan="pro")
    track(gateway, write_auth, free["user_id"], event, plan="free")
    waiting = wait_for(
        lambda: enrollments(gateway, admin_headers, flow_id),
        lambda items: len(items) == 2 and all(e["state"] == "waiting" for e in items),
        20,
    )
    assert {e["customer_id"] for e in waiting} == {buyer["customer_id"], idle["customer_id"]}
    track(gateway, write_auth, buyer["user_id"], "Order Completed", order_id=unique("o"), total=10)

    thanks = wait_for(lambda: emails(gateway, admin_headers, buyer["email"]), bool, 20)
    nudge = wait_for(lambda: emails(gateway, admin_headers, idle["email"]), bool, 20)
    assert [m["subject"] for m in thanks] == ["Thanks"]
    assert [m["subject"] for m in nudge] == ["Still thinking?"]
    assert emails(gateway, admin_headers, free["email"]) == []

    # The nudge's code, used on an order, is a redemption with its revenue.
    code = nudge[0]["text"].split()[1]
    track(
        gateway, write_auth, idle["user_id"], "Order Completed", order_id=unique("o"), total=42.5, coupon=code
    )
    metrics = wait_for(
        lambda: gateway.get(f"/api/flows/{flow_id}/metrics", headers=admin_headers).json(),
        lambda m: m["totals"]["redeemed"] == 1,
        20,
    )
    assert metrics["totals"]["delivered"] == 2 and metrics["totals"]["revenue"] == 42.5
    by_step = {s["step"]: s for s in metrics["steps"]}
    assert by_step["nudge"]["delivered"] == 1 and by_step["nudge"]["redeemed"] == 1
    # The SRE's view of it: the scheduler fired the steps (wait timed out, two sends), two delivered.
    assert (
        scraped_sample(worker, "cdp_scheduler_lateness_seconds_count", service="campaigns")
        >= fired_before + 3
    )
    delivered = scraped_sample(
        worker, "cdp_consumer_messages_total", group="campaigns-delivery", outcome="delivered"
    )
    assert delivered >= delivered_before + 2


async def test_a_scheduled_broadcast_reaches_the_subscribed_members_only(
    gateway: httpx.Client, admin_headers: dict[str, str], write_auth: tuple[str, str], publisher: Publisher
) -> None:
    workspace_id = workspace_of(gateway, admin_headers)
    segment_id = unique("seg")
    fan = await asyncio.to_thread(new_customer, gateway, admin_headers, write_auth, first_name="Fan")
    gone = await asyncio.to_thread(
        new_customer, gateway, admin_headers, write_auth, first_name="Gone", email_subscribed=False
    )
    for profile in (fan, gone):
        await enter_segment(publisher, workspace_id, segment_id, profile)
    at = datetime.now(UTC) + timedelta(seconds=4)
    body = {
        "name": "Sale",
        "kind": "broadcast",
        "segment_id": segment_id,
        "template": {"subject": "Sale for {{ customer.first_name }}", "html": "<p>Sale</p>"},
        "scheduled_at": at.isoformat(),
    }
    created = await asyncio.to_thread(gateway.post, "/api/campaigns", json=body, headers=admin_headers)
    assert created.status_code == 201, created.text
    path = f"/api/campaigns/{created.json()['id']}"
    active = await asyncio.to_thread(gateway.post, f"{path}/activate", headers=admin_headers)
    assert active.json()["status"] == "active"

    mails = await asyncio.to_thread(wait_for, lambda: emails(gateway, admin_headers, fan["email"]), bool, 20)
    assert datetime.fromisoformat(mails[0]["received_at"]) >= at
    assert mails[0]["subject"] == "Sale for Fan"
    done = await asyncio.to_thread(
        wait_for,
        lambda: gateway.get(f"{path}/metrics", headers=admin_headers).json()["totals"],
        lambda t: t["delivered"] + t["suppressed"] == 2,
        20,
    )
    assert (done["sent"], done["delivered"], done["suppressed"]) == (2, 1, 1)
    assert emails(gateway, admin_headers, gone["email"]) == []
    campaign = (await asyncio.to_thread(gateway.get, path, headers=admin_headers)).json()
    assert (campaign["status"], campaign["recipients"]) == ("completed", 2)
