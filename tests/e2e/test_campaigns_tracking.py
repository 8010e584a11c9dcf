"""Open and click tracking end to end, without any key, through the gateway's public /t prefix: the
pixel and the redirect of a delivered email count once per send, put one `Email Opened` and one
`Email Link Clicked` on the customer's timeline, and an order after them is credited to the campaign
once (whatever its redeliveries), unless it comes after the attribution window.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import urlsplit

import httpx

from cdpkit.kafka import Publisher
from tests.e2e.test_campaigns_flow import (
    Json,
    emails,
    entered_customer,
)
from tests.e2e.test_campaigns_unsubscribe import broadcast, totals
from tests.factories import wait_for

SHOP = "https://shop.example/sale?a=1&b=2"
HTML = (
    '<p><a href="{{ shop }}">Shop the sale</a> · <a href="mailto:help@shop.example">Help</a>'
    ' · <a href="#top">Top</a></p>'
)
GIF = b"GIF89a"


def tracked_broadcast(gateway: httpx.Client, admin: dict[str, str], segment_id: str) -> str:
    """A broadcast with a web link, a mailto and an anchor, in 3 s; its path."""
    template = {
        "subject": "Sale",
        "html": HTML.replace("{{ shop }}", SHOP.replace("&", "&amp;")),
        "text": SHOP,
    }
    return broadcast(gateway, admin, segment_id, "Sale", template)


def links_of(gateway: httpx.Client, admin: dict[str, str], to: str) -> tuple[Json, str, str]:
    """The delivered email, and the paths (with query) of its open pixel and its shop link."""
    [mail] = wait_for(lambda: emails(gateway, admin, to), bool, 20)
    html = mail["html"]
    [pixel] = re.findall(r'<img src="([^"]+)" width="1" height="1" alt="">', html)
    clicks = [unescape(h) for h in re.findall(r'href="([^"]+)"', html) if "/t/click/" in h]
    assert len(clicks) == 1, html
    assert 'href="mailto:help@shop.example"' in html and 'href="#top"' in html
    assert "/t/unsubscribe/" in html and mail["text"].startswith(SHOP)  # the text part is untouched
    return mail, urlsplit(pixel).path, _path(clicks[0])


def delivered(gateway: httpx.Client, admin: dict[str, str], path: str) -> None:
    """Wait for the send's outcome: the sink may have the mail a moment before delivery commits it."""
    wait_for(lambda: totals(gateway, admin, path), lambda t: t["delivered"] == 1, 20)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def timeline_names(gateway: httpx.Client, admin: dict[str, str], user_id: str) -> list[Json]:
    answer = gateway.get(f"/api/customers/{user_id}/events", params={"limit": 200}, headers=admin)
    assert answer.status_code == 200, answer.text
    return [e for e in answer.json()["items"] if e["name"] in ("Email Opened", "Email Link Clicked")]


def order(
    gateway: httpx.Client, write: tuple[str, str], user_id: str, order_id: str, total: float, **extra: Any
) -> None:
    call = {
        "userId": user_id,
        "event": "Order Completed",
        "properties": {"order_id": order_id, "total": total},
    }
    answer = gateway.post("/v1/track", json={**call, **extra}, auth=write)
    assert answer.status_code == 200, answer.text


async def test_opens_and_clicks_count_once_and_credit_an_order_once(
    gateway: httpx.Client, admin_headers: dict[str, str], write_auth: tuple[str, str], publisher: Publisher
) -> None:
    segment_id, ann = await entered_customer(gateway, admin_headers, write_auth, publisher, "Ann")
    path = await asyncio.to_thread(tracked_broadcast, gateway, admin_headers, segment_id)
    await asyncio.to_thread(opened_clicked_and_credited, gateway, admin_headers, write_auth, path, ann)


def opened_clicked_and_credited(
    gateway: httpx.Client, admin: dict[str, str], write: tuple[str, str], path: str, ann: Json
) -> None:
    mail, pixel, click = links_of(gateway, admin, ann["email"])
    delivered(gateway, admin, path)
    for _ in range(2):  # no key at all, twice
        image = gateway.get(pixel)
        assert image.status_code == 200 and image.headers["content-type"] == "image/gif"
        assert image.content.startswith(GIF) and "no-store" in image.headers["cache-control"]
        followed = gateway.get(click)
        assert followed.status_code == 302 and followed.headers["location"] == SHOP
    counted = totals(gateway, admin, path)  # recorded within the request: no wait
    assert (counted["delivered"], counted["opened"], counted["clicked"]) == (1, 1, 1)
    assert (counted["open_rate"], counted["click_rate"]) == (1.0, 1.0)

    events = wait_for(lambda: timeline_names(gateway, admin, ann["user_id"]), lambda e: len(e) >= 2, 20)
    assert sorted(e["name"] for e in events) == ["Email Link Clicked", "Email Opened"]
    clicked = next(e for e in events if e["name"] == "Email Link Clicked")["payload"]["properties"]
    send_id = mail["message_id"].strip("<>").split("@")[0]
    assert clicked["url"] == SHOP and clicked["send_id"] == send_id
    assert clicked["campaign_id"] == path.rsplit("/", 1)[1]

    # An order 2 hours after the click (its own time, not its arrival) is credited; its redeliveries are not.
    now = datetime.now(UTC)
    soon = (now + timedelta(hours=2)).isoformat()
    order(gateway, write, ann["user_id"], "o-1", 120, messageId="m-o1", timestamp=soon)
    credited = wait_for(lambda: totals(gateway, admin, path), lambda t: t["converted"] >= 1, 20)
    assert (credited["converted"], credited["attributed_revenue"]) == (1, 120.0)
    order(gateway, write, ann["user_id"], "o-1", 120, messageId="m-o1", timestamp=soon)  # the same message
    order(gateway, write, ann["user_id"], "o-1", 120, messageId="m-o1-again", timestamp=soon)  # same order
    later = (now + timedelta(days=10)).isoformat()
    order(gateway, write, ann["user_id"], "o-late", 999, messageId="m-late", timestamp=later)
    # One partition per customer, read in order: once this last order is credited, the three
    # before it were handled, and they must have added nothing.
    order(gateway, write, ann["user_id"], "o-2", 30, messageId="m-o2", timestamp=soon)
    final = wait_for(lambda: totals(gateway, admin, path), lambda t: t["converted"] >= 2, 20)
    assert (final["converted"], final["attributed_revenue"]) == (2, 150.0)
    assert (final["opened"], final["clicked"], final["redeemed"], final["revenue"]) == (1, 1, 0, 0.0)
    [step] = gateway.get(f"{path}/metrics", headers=admin).json()["steps"]
    assert (step["converted"], step["attributed_revenue"], step["opened"]) == (2, 150.0, 1)
    assert len(timeline_names(gateway, admin, ann["user_id"])) == 2  # still one of each


async def test_tampered_links_redirect_nowhere_and_record_nothing(
    gateway: httpx.Client, admin_headers: dict[str, str], write_auth: tuple[str, str], publisher: Publisher
) -> None:
    segment_id, bob = await entered_customer(gateway, admin_headers, write_auth, publisher, "Bob")
    path = await asyncio.to_thread(tracked_broadcast, gateway, admin_headers, segment_id)
    await asyncio.to_thread(tampered_links_do_nothing, gateway, admin_headers, path, bob)


def tampered_links_do_nothing(gateway: httpx.Client, admin: dict[str, str], path: str, bob: Json) -> None:
    mail, pixel, click = links_of(gateway, admin, bob["email"])
    delivered(gateway, admin, path)
    base, _, query = click.partition("?")
    token = base.rsplit("/", 1)[1]
    tampered = token[:-1] + ("0" if token[-1] != "0" else "1")
    for bad in (
        f"{base.removesuffix(token)}{tampered}?{query}",  # the token
        f"{base}?u=https%3A%2F%2Fevil.example%2F",  # the URL
        base,  # no URL at all
    ):
        refused = gateway.get(bad)
        assert refused.status_code == 404, (bad, refused.text)
        assert "location" not in refused.headers and refused.json()["error"]["code"] == "not_found"
    as_page = gateway.get(base, headers={"Accept": "text/html"})
    assert as_page.status_code == 404 and "not valid" in as_page.text
    pixel_token = pixel.rsplit("/", 1)[1].removesuffix(".gif")
    forged = gateway.get(pixel.replace(pixel_token, pixel_token[::-1]))
    assert forged.status_code == 200 and forged.content.startswith(GIF)
    assert forged.headers["content-type"] == "image/gif"
    nothing = totals(gateway, admin, path)
    assert (nothing["delivered"], nothing["opened"], nothing["clicked"]) == (1, 0, 0)

    # The unsubscribe link names its send: the unsubscribe counts for this campaign.
    unsubscribe = mail["headers"]["List-Unsubscribe"].strip("<>")
    assert "?s=send-" in unsubscribe
    done = gateway.post(_path(unsubscribe))
    assert done.status_code == 200, done.text
    assert totals(gateway, admin, path)["unsubscribed"] == 1


def test_the_tracking_routes_are_documented_as_key_less(gateway: httpx.Client) -> None:
    paths = gateway.get("/openapi.json").json()["paths"]
    assert paths["/t/open/{workspace_id}/{send_id}/{token}.gif"]["get"]["security"] == []
    assert paths["/t/click/{workspace_id}/{send_id}/{token}"]["get"]["security"] == []


def _public_tracking_link(w: Any) -> None:
    """Deliberately public (a recipient has no key); the signed path is the credential.

    A token is valid for one (workspace, send) and, for a click, one URL: B's id in the path with a
    token it made up records nothing and redirects nowhere (the tests above have the rest).
    """
    token = "0" * 32
    pixel = w.gateway.get(f"/t/open/{w.b_id}/send-x/{token}.gif")
    assert pixel.status_code == 200 and pixel.content.startswith(GIF)
    click = w.gateway.get(f"/t/click/{w.b_id}/send-x/{token}", params={"u": "https://evil.example/"})
    assert click.status_code == 404 and "location" not in click.headers


TRACKING_PROBES: dict[tuple[str, str], Callable[[Any], None]] = {
    ("get", "/t/open/{workspace_id}/{send_id}/{token}.gif"): _public_tracking_link,
    ("get", "/t/click/{workspace_id}/{send_id}/{token}"): _public_tracking_link,
}
