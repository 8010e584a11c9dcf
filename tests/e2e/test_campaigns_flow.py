"""Campaigns end to end through the gateway: a segment entry enrolls, emails land in the SMTP sink,
the delay passes, the branch decides, and an exit event ends an enrollment.

Segment events are produced onto their topic by the test (segmentation need not run).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from cdpkit.kafka import Publisher, encode, standard_headers
from schemas.envelope import utcnow
from schemas.segments import SegmentEvent, SegmentMembership, membership_event_id, segment_key
from schemas.topics import SEGMENT_EVENTS
from tests.factories import get_customer, unique, wait_for

Json = dict[str, Any]


def workspace_of(gateway: httpx.Client, headers: dict[str, str]) -> str:
    return str(gateway.get("/api/workspaces/current", headers=headers).json()["id"])


def new_customer(gateway: httpx.Client, admin: dict[str, str], write: tuple[str, str], **traits: Any) -> Json:
    """A customer known to profile and to campaigns' contacts (by its snapshot); its profile."""
    user = unique("u")
    email = f"{user}@example.com"
    answer = gateway.post(
        "/v1/identify", json={"userId": user, "traits": {"email": email, **traits}}, auth=write
    )
    assert answer.status_code == 200, answer.text
    found = wait_for(lambda: get_customer(gateway, admin, user), lambda r: r.status_code == 200)
    profile: Json = found.json()
    preview = {"subject": "{{ customer.email }}", "customer_id": profile["customer_id"]}
    wait_for(
        lambda: gateway.post("/api/templates/preview", json=preview, headers=admin),
        lambda r: r.status_code == 200 and r.json()["subject"] == email,
    )
    return profile


async def enter_segment(
    publisher: Publisher, workspace_id: str, segment_id: str, profile: Json, entry: int = 1
) -> str:
    """Produce the customer's `entry`-th `segment.entered` as segmentation would; its event id."""
    customer_id = profile["customer_id"]
    event = SegmentEvent(
        event_id=membership_event_id(workspace_id, segment_id, customer_id, "entered", entry),
        workspace_id=workspace_id,
        type="segment.entered",
        occurred_at=utcnow(),
        payload=SegmentMembership(
            segment_id=segment_id,
            segment_name="New customers",
            rule_version=1,
            customer_id=customer_id,
            user_id=profile["user_id"],
            email=profile["email"],
            cause="change",
            profile_version=profile["version"],
        ),
    )
    await publisher.publish(
        SEGMENT_EVENTS.name,
        segment_key(workspace_id, customer_id),
        encode(event),
        standard_headers(event.type, event.event_id),
    )
    return event.event_id


async def entered_customer(
    gateway: httpx.Client, admin: dict[str, str], write: tuple[str, str], publisher: Publisher, name: str
) -> tuple[str, Json]:
    """A new customer, entered into a new segment: (segment id, profile)."""
    workspace_id = await asyncio.to_thread(workspace_of, gateway, admin)
    segment_id = unique("seg")
    profile = await asyncio.to_thread(new_customer, gateway, admin, write, first_name=name)
    await enter_segment(publisher, workspace_id, segment_id, profile)
    return segment_id, profile


def emails(gateway: httpx.Client, admin: dict[str, str], to: str) -> list[Json]:
    answer = gateway.get("/api/outbox/emails", params={"to": to}, headers=admin)
    assert answer.status_code == 200, answer.text
    items: list[Json] = answer.json()["items"]
    return items


def enrollments(gateway: httpx.Client, admin: dict[str, str], flow_id: str) -> list[Json]:
    answer = gateway.get(f"/api/flows/{flow_id}/enrollments", headers=admin)
    assert answer.status_code == 200, answer.text
    items: list[Json] = answer.json()["items"]
    return items


def welcome_flow(segment_id: str, delay_s: int = 2) -> Json:
    return {
        "name": "Welcome",
        "trigger": {"type": "segment_entered", "segment_id": segment_id},
        "entry_step": "hello",
        "steps": [
            {
                "id": "hello",
                "type": "send_email",
                "template": {
                    "subject": "Welcome {{ customer.first_name }}",
                    "html": "<p>Hi {{ customer.first_name }} from {{ customer.city }}</p>",
                    "text": "Hi {{ customer.first_name }}",
                },
                "next": "wait",
            },
            {"id": "wait", "type": "delay", "seconds": delay_s, "next": "check"},
            {
                "id": "check",
                "type": "branch",
                "rule": {"field": "orders_count", "op": "gte", "value": 1},
                "yes": "done",
                "no": "offer",
            },
            {
                "id": "offer",
                "type": "send_email",
                "template": {
                    "subject": "10% for you",
                    "html": "<p>Code {{ offer.code }}</p>",
                    "text": "{{ offer.code }}",
                },
                "offer": {"type": "percent", "value": 10},
                "next": "done",
            },
            {"id": "done", "type": "exit"},
        ],
        "exit_when": [{"event": "Order Completed"}],
        "reentry": {"policy": "never"},
    }


def active_flow(gateway: httpx.Client, admin: dict[str, str], definition: Json) -> str:
    created = gateway.post("/api/flows", json=definition, headers=admin)
    assert created.status_code == 201, created.text
    flow_id = str(created.json()["id"])
    activated = gateway.post(f"/api/flows/{flow_id}/activate", headers=admin)
    assert activated.json()["status"] == "active"
    return flow_id


async def test_segment_entry_enrolls_emails_waits_and_branches(
    gateway: httpx.Client, admin_headers: dict[str, str], write_auth: tuple[str, str], publisher: Publisher
) -> None:
    workspace_id = workspace_of(gateway, admin_headers)
    segment_id = unique("seg")
    flow_id = active_flow(gateway, admin_headers, welcome_flow(segment_id))
    ann = await asyncio.to_thread(
        new_customer, gateway, admin_headers, write_auth, first_name="Ann", city="Austin"
    )

    cause = await enter_segment(publisher, workspace_id, segment_id, ann)

    first = await asyncio.to_thread(
        wait_for, lambda: emails(gateway, admin_headers, ann["email"]), lambda items: len(items) >= 1, 20
    )
    assert first[0]["subject"] == "Welcome Ann"
    assert "Hi Ann from Austin" in first[0]["html"]
    assert "Unsubscribe" in first[0]["html"] and "/t/unsubscribe/" in first[0]["text"]
    [enrollment] = enrollments(gateway, admin_headers, flow_id)
    assert enrollment["customer_id"] == ann["customer_id"]
    assert enrollment["history"][0]["cause"] == cause

    both = await asyncio.to_thread(
        wait_for, lambda: emails(gateway, admin_headers, ann["email"]), lambda items: len(items) >= 2, 20
    )
    offer = both[0]
    assert offer["subject"] == "10% for you"
    [done] = enrollments(gateway, admin_headers, flow_id)
    assert done["state"] == "completed" and done["step"] == "done"
    outcomes = [(h["step"], h["outcome"]) for h in done["history"]]
    assert outcomes == [
        ("hello", "enrolled"),
        ("hello", "email_sent"),
        ("wait", "delayed"),
        ("wait", "delay_over"),
        ("check", "no"),
        ("offer", "email_sent"),
        ("done", "completed"),
    ]
    code = offer["text"].split()[0]
    assert len(code) == 14 and code in offer["html"]

    # The same entry delivered again, and a second entry: `never` enrolls once, sends nothing more.
    await enter_segment(publisher, workspace_id, segment_id, ann)
    event = await enter_segment(publisher, workspace_id, segment_id, ann, entry=2)
    await asyncio.sleep(3)
    assert len(enrollments(gateway, admin_headers, flow_id)) == 1, event
    assert len(emails(gateway, admin_headers, ann["email"])) == 2


async def test_an_exit_event_ends_an_enrollment_and_its_emails(
    gateway: httpx.Client, admin_headers: dict[str, str], write_auth: tuple[str, str], publisher: Publisher
) -> None:
    workspace_id = workspace_of(gateway, admin_headers)
    segment_id = unique("seg")
    flow_id = active_flow(gateway, admin_headers, welcome_flow(segment_id, delay_s=4))
    bob = await asyncio.to_thread(new_customer, gateway, admin_headers, write_auth, first_name="Bob")

    await enter_segment(publisher, workspace_id, segment_id, bob)
    await asyncio.to_thread(
        wait_for, lambda: emails(gateway, admin_headers, bob["email"]), lambda items: len(items) == 1, 20
    )
    order = {
        "userId": bob["user_id"],
        "event": "Order Completed",
        "properties": {"order_id": unique("o"), "total": 30},
    }
    tracked = await asyncio.to_thread(gateway.post, "/v1/track", json=order, auth=write_auth)
    assert tracked.status_code == 200

    [exited] = await asyncio.to_thread(
        wait_for,
        lambda: enrollments(gateway, admin_headers, flow_id),
        lambda items: items and items[0]["state"] == "exited",
        20,
    )
    assert exited["history"][-1]["event"] == "Order Completed"
    await asyncio.sleep(5)  # past the delay: an exited enrollment sends nothing more
    assert len(emails(gateway, admin_headers, bob["email"])) == 1


async def test_a_welcome_email_waits_for_a_contact_whose_snapshot_comes_after_the_entry(
    gateway: httpx.Client, admin_headers: dict[str, str], write_auth: tuple[str, str], publisher: Publisher
) -> None:
    """A segment entry can reach campaigns before the snapshot with the new customer's address."""
    workspace_id = workspace_of(gateway, admin_headers)
    segment_id = unique("seg")
    active_flow(gateway, admin_headers, welcome_flow(segment_id, delay_s=3600))
    user = unique("u")
    email = f"{user}@example.com"
    # Enrolled by user id before profile or campaigns know the customer: no contact yet.
    early = {"customer_id": user, "user_id": user, "email": email, "version": 1}
    await enter_segment(publisher, workspace_id, segment_id, early)
    await asyncio.sleep(1.5)  # the send is out and its delivery finds no contact
    traits = {"email": email, "first_name": "Eve"}
    identify = {"userId": user, "traits": traits}
    answer = await asyncio.to_thread(gateway.post, "/v1/identify", json=identify, auth=write_auth)
    assert answer.status_code == 200, answer.text
    [welcome] = await asyncio.to_thread(
        wait_for, lambda: emails(gateway, admin_headers, email), lambda items: len(items) >= 1, 20
    )
    assert welcome["subject"] == "Welcome Eve"  # rendered from the contact that arrived late
