"""A generated shop through the real gateway: nothing rejected, re-sending deduped, the profiles appear."""

from __future__ import annotations

import httpx

from deploy.datagen.feed import feed_sync
from deploy.datagen.shop import Shop
from deploy.launcher.stack import Stack
from tests.factories import get_customer, unique, wait_for


def test_a_generated_shop_goes_through_ingest_without_a_rejection_and_becomes_profiles(
    stack: Stack, gateway: httpx.Client, admin_headers: dict[str, str]
) -> None:
    shop = Shop(30, seed=7, prefix=unique("dg"))  # the seed's shop, under ids no other test uses
    customers = list(shop.stream())
    total = sum(len(calls) for calls in customers)

    report = feed_sync(customers, stack.gateway_url, stack.credentials.write_key, concurrency=4)
    assert report.rejections == []
    assert (report.sent, report.accepted, report.rejected, report.failed) == (total, total, 0, 0)

    again = feed_sync(customers, stack.gateway_url, stack.credentials.write_key, concurrency=4)
    assert (again.accepted, again.duplicates, again.rejected) == (0, total, 0)  # same seed, same messageIds

    anonymous_first = 0
    for index, calls in enumerate(customers):
        customer = shop.customer(index)
        as_user = sum(1 for call in calls if call.get("userId") == customer.user_id)
        profile = wait_for(
            lambda customer=customer: get_customer(gateway, admin_headers, customer.user_id),
            lambda r, as_user=as_user: r.status_code == 200 and r.json()["events_count"] >= as_user,
            timeout_s=240,
            interval_s=0.5,
        ).json()
        assert profile["email"] == customer.email
        if customer.anonymous_id:
            anonymous_first += 1
            assert customer.anonymous_id in profile["anonymous_ids"]  # the identify linked both ids
            by_device = get_customer(gateway, admin_headers, customer.anonymous_id).json()
            assert by_device["customer_id"] == profile["customer_id"]
    assert anonymous_first
