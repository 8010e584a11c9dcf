"""The unsubscribe link end to end: a delivered email's link, opened and posted without any key through
the gateway's public /t prefix, suppresses the next sends at once and unsubscribes the profile.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from redis.asyncio import Redis

from cdpkit.errors import RateLimited
from cdpkit.kafka import Publisher
from deploy.launcher.stack import Stack
from gateway.adapters.ratelimit import RedisRateLimiter
from gateway.guard import Guard
from gateway.settings import Settings as GatewaySettings
from tests.e2e.test_campaigns_flow import (
    Json,
    emails,
    enter_segment,
    entered_customer,
    new_customer,
    workspace_of,
)
from tests.factories import get_customer, unique, wait_for

ONE_CLICK = "List-Unsubscribe=One-Click"


def broadcast(
    gateway: httpx.Client,
    admin: dict[str, str],
    segment_id: str,
    subject: str,
    template: dict[str, str] | None = None,
) -> str:
    """A broadcast to the segment in 3 s (its members' entries reach campaigns meanwhile); its path."""
    at = (datetime.now(UTC) + timedelta(seconds=3)).isoformat()
    template = template or {"subject": subject}
    body = {
        "name": subject,
        "kind": "broadcast",
        "segment_id": segment_id,
        "template": template,
        "scheduled_at": at,
    }
    created = gateway.post("/api/campaigns", json=body, headers=admin)
    assert created.status_code == 201, created.text
    path = f"/api/campaigns/{created.json()['id']}"
    assert gateway.post(f"{path}/activate", headers=admin).json()["status"] == "active"
    return path


def totals(gateway: httpx.Client, admin: dict[str, str], path: str) -> Json:
    answer = gateway.get(f"{path}/metrics", headers=admin)
    assert answer.status_code == 200, answer.text
    result: Json = answer.json()["totals"]
    return result


def unsubscribe_path(gateway: httpx.Client, admin: dict[str, str], to: str) -> str:
    """The path of the unsubscribe link in the customer's newest email, checked against its headers."""
    [mail, *_] = wait_for(lambda: emails(gateway, admin, to), bool, 20)
    link = mail["headers"]["List-Unsubscribe"].strip("<>")
    assert mail["headers"]["List-Unsubscribe-Post"] == ONE_CLICK
    assert link in mail["text"]
    path = urlsplit(link).path
    assert path.startswith("/t/unsubscribe/")
    return path


def unsubscribed_events(gateway: httpx.Client, admin: dict[str, str], user_id: str) -> int:
    answer = gateway.get(f"/api/customers/{user_id}/events", headers=admin)
    assert answer.status_code == 200, answer.text
    return sum(1 for e in answer.json()["items"] if e["name"] == "Unsubscribed")


async def test_the_link_unsubscribes_without_a_key_and_suppresses_the_next_broadcast(
    gateway: httpx.Client, admin_headers: dict[str, str], write_auth: tuple[str, str], publisher: Publisher
) -> None:
    segment_id, ann = await entered_customer(gateway, admin_headers, write_auth, publisher, "Ann")
    await asyncio.to_thread(broadcast, gateway, admin_headers, segment_id, "First")
    path = await asyncio.to_thread(unsubscribe_path, gateway, admin_headers, ann["email"])

    # No key at all: the page names the address masked, and its form posts back to the same URL.
    page = await asyncio.to_thread(gateway.get, path)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert f"Unsubscribe {ann['email'][0]}**" in page.text and ann["email"] not in page.text
    assert f'<form method="post" action="{path}">' in page.text
    assert page.headers["x-ratelimit-limit"] == "600"  # counted per client IP
    assert page.headers["x-request-id"]

    done = await asyncio.to_thread(gateway.post, path)
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    profile = await asyncio.to_thread(
        wait_for,
        lambda: get_customer(gateway, admin_headers, ann["user_id"]).json(),
        lambda p: p["email_subscribed"] is False,
        20,
    )
    assert profile["customer_id"] == ann["customer_id"]
    again = await asyncio.to_thread(gateway.post, path)
    assert again.status_code == 200 and "You are unsubscribed" in again.text

    later = await asyncio.to_thread(broadcast, gateway, admin_headers, segment_id, "Second")
    result = await asyncio.to_thread(
        wait_for, lambda: totals(gateway, admin_headers, later), lambda t: t["suppressed"] == 1, 20
    )
    assert (result["sent"], result["delivered"]) == (1, 0)
    assert [m["subject"] for m in emails(gateway, admin_headers, ann["email"])] == ["First"]
    # The second click changed nothing: one Unsubscribed in the timeline, after the broadcast had time.
    assert await asyncio.to_thread(unsubscribed_events, gateway, admin_headers, ann["user_id"]) == 1


async def test_only_the_links_own_token_works_and_one_click_posts_are_honoured(
    gateway: httpx.Client,
    admin_headers: dict[str, str],
    write_auth: tuple[str, str],
    publisher: Publisher,
    stack: Stack,
) -> None:
    workspace_id = await asyncio.to_thread(workspace_of, gateway, admin_headers)
    segment_id = unique("seg")
    bob = await asyncio.to_thread(new_customer, gateway, admin_headers, write_auth, first_name="Bob")
    cat = await asyncio.to_thread(new_customer, gateway, admin_headers, write_auth, first_name="Cat")
    for customer in (bob, cat):
        await enter_segment(publisher, workspace_id, segment_id, customer)
    await asyncio.to_thread(broadcast, gateway, admin_headers, segment_id, "Hello")
    await asyncio.to_thread(only_the_links_own_token_works, gateway, admin_headers, stack, bob, cat)


def only_the_links_own_token_works(
    gateway: httpx.Client, admin_headers: dict[str, str], stack: Stack, bob: Json, cat: Json
) -> None:
    bob_path = unsubscribe_path(gateway, admin_headers, bob["email"])
    cat_path = unsubscribe_path(gateway, admin_headers, cat["email"])
    _, _, _, ws, bob_id, bob_token = bob_path.split("/")
    cat_token = cat_path.rsplit("/", 1)[1]
    other = gateway.post("/api/workspaces", json={"name": unique("b")}, headers=admin_headers)
    assert other.status_code == 201, other.text

    tampered = bob_token[:-1] + ("0" if bob_token[-1] != "0" else "1")
    for bad in (
        f"/t/unsubscribe/{ws}/{bob_id}/{tampered}",
        f"/t/unsubscribe/{ws}/{bob_id}/{cat_token}",  # another customer's token
        f"/t/unsubscribe/{other.json()['id']}/{bob_id}/{bob_token}",  # another workspace
        f"/t/unsubscribe/{ws}/{bob_id}/{bob_token}\u00e9",  # not even ASCII
    ):
        for method in ("GET", "POST"):
            refused = gateway.request(method, bad)
            assert refused.status_code == 404, (method, bad, refused.text)
            assert refused.json()["error"]["code"] == "not_found"
    as_page = gateway.get(f"/t/unsubscribe/{ws}/{bob_id}/{tampered}", headers={"Accept": "text/html"})
    assert as_page.status_code == 404 and "not valid" in as_page.text
    assert as_page.headers["content-type"].startswith("text/html")
    wrong_method = gateway.put(bob_path)
    assert (wrong_method.status_code, wrong_method.json()["error"]["code"]) == (405, "method_not_allowed")
    # Straight to the service, around the gateway: refused, the link's token is not enough.
    direct = httpx.post(stack.service_url("campaigns") + bob_path)
    assert direct.status_code == 401
    assert get_customer(gateway, admin_headers, bob["user_id"]).json()["email_subscribed"] is not False

    # RFC 8058: what a mail client POSTs by itself, form-encoded.
    one_click = gateway.post(
        bob_path, content=ONE_CLICK, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert one_click.status_code == 200, one_click.text
    wait_for(
        lambda: get_customer(gateway, admin_headers, bob["user_id"]).json(),
        lambda p: p["email_subscribed"] is False,
        20,
    )
    assert get_customer(gateway, admin_headers, cat["user_id"]).json()["email_subscribed"] is not False


def test_the_public_route_is_documented_as_key_less(gateway: httpx.Client) -> None:
    paths = gateway.get("/openapi.json").json()["paths"]
    route = paths["/t/unsubscribe/{workspace_id}/{customer_id}/{token}"]
    assert route["get"]["security"] == [] and route["post"]["security"] == []
    assert "text/html" in route["get"]["responses"]["200"]["content"]


@pytest.fixture
async def redis(stack: Stack) -> AsyncIterator[Redis]:
    client = Redis.from_url(stack.env["REDIS_URL"])
    yield client
    await client.aclose()


async def test_public_requests_are_limited_per_client_ip(redis: Redis) -> None:
    # A public request authenticates nobody: the guard needs no authenticator for it.
    guard = Guard(None, RedisRateLimiter(redis), GatewaySettings(rate_limit_public_per_minute=3))  # type: ignore[arg-type]
    address = unique("203.0.113")

    def scope(ip: str) -> dict[str, object]:
        return {"type": "http", "headers": [], "client": (ip, 40000)}

    for _ in range(3):
        await guard.public_of(scope(address))
    with pytest.raises(RateLimited) as refused:
        await guard.public_of(scope(address))
    assert refused.value.headers["Retry-After"] and refused.value.details == {"limit_per_minute": 3}
    await guard.public_of(scope(address + "-other"))  # another client is counted apart
