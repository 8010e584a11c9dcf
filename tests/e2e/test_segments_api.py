"""Segments through the gateway: CRUD, real-time entry on a profile change, the sweep, members and CSV.

SEGMENT_PROBES are this file's contribution to tests/e2e/test_tenancy.py's probe of every route.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import ConsumerRecord, TopicPartition

from deploy.launcher.stack import Stack
from schemas.topics import SEGMENT_EVENTS
from tests.factories import unique, wait_for
from tests.kafka_tools import end_offsets, read_since

VALUABLE = {"field": "lifetime_value", "op": "gte", "value": 500}


@pytest.fixture(scope="module")
def shop(gateway: httpx.Client, admin_headers: dict[str, str]) -> dict[str, Any]:
    """A fresh workspace: its admin headers, write key and a prefix for its user ids."""
    workspace = gateway.post("/api/workspaces", json={"name": unique("seg")}, headers=admin_headers).json()
    return {
        "id": workspace["id"],
        "admin": {"Authorization": f"Bearer {workspace['admin_key']}"},
        "write": (workspace["write_key"], ""),
        "prefix": unique("s") + "-",
    }


def order(
    gateway: httpx.Client,
    write: tuple[str, str],
    user: str,
    total: float,
    at: datetime,
    products: list[dict[str, Any]] | None = None,
) -> None:
    properties = {"order_id": unique("o"), "total": total, **({"products": products} if products else {})}
    body = {"userId": user, "event": "Order Completed", "properties": properties, "timestamp": at.isoformat()}
    assert gateway.post("/v1/track", json=body, auth=write).status_code == 200


def create(gateway: httpx.Client, headers: dict[str, str], rule: dict[str, Any], **fields: Any) -> Any:
    body = {"name": unique("segment"), "rule": rule, **fields}
    response = gateway.post("/api/segments", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def segment_events(
    stack: Stack, since: dict[TopicPartition, int], until: Callable[[list[Any]], bool]
) -> list[Any]:
    """The segment events published after `since` (decoded), read until `until(events)` holds."""

    def decoded(records: list[ConsumerRecord]) -> list[Any]:
        return [orjson.loads(r.value) for r in records]

    records = asyncio.run(
        read_since(stack.env["KAFKA_BOOTSTRAP_SERVERS"], since, lambda rs: until(decoded(rs)), timeout_s=30)
    )
    return decoded(records)


def offsets(stack: Stack) -> dict[TopicPartition, int]:
    return asyncio.run(end_offsets(stack.env["KAFKA_BOOTSTRAP_SERVERS"], SEGMENT_EVENTS.name))


def of_segment(segment: dict[str, Any], events: list[Any]) -> list[Any]:
    return [e for e in events if e["payload"]["segment_id"] == segment["id"]]


def wait_until_previewed(
    gateway: httpx.Client, headers: dict[str, str], rule: dict[str, Any], count: int, at_least: bool = False
) -> Any:
    """The preview of `rule` once it counts `count` customers (the read model follows the profiles)."""

    def previewed() -> Any:
        response = gateway.post("/api/segments/preview", json={"rule": rule}, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    return wait_for(
        previewed, lambda p: p["count"] >= count if at_least else p["count"] == count, timeout_s=30
    )


def members(gateway: httpx.Client, headers: dict[str, str], segment_id: str, **params: Any) -> Any:
    response = gateway.get(f"/api/segments/{segment_id}/members", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_customer_whose_lifetime_value_passes_the_bar_enters_and_the_event_is_published(
    stack: Stack, gateway: httpx.Client, shop: dict[str, Any]
) -> None:
    admin, write, user = shop["admin"], shop["write"], shop["prefix"] + "ann"
    segment = create(gateway, admin, VALUABLE, tags=["vip"])
    assert (segment["version"], segment["size"], segment["tags"]) == (1, 0, ["vip"])
    since = offsets(stack)

    gateway.post("/v1/identify", json={"userId": user, "traits": {"email": f"{user}@x.example"}}, auth=write)
    order(gateway, write, user, 600.0, datetime.now(UTC))

    events = of_segment(segment, segment_events(stack, since, lambda es: len(of_segment(segment, es)) >= 1))
    assert [(e["type"], e["payload"]["cause"], e["payload"]["user_id"]) for e in events] == [
        ("segment.entered", "change", user)
    ]
    assert events[0]["workspace_id"] == shop["id"] and events[0]["payload"]["rule_version"] == 1
    page = members(gateway, admin, segment["id"])
    assert [m["user_id"] for m in page["items"]] == [user]
    assert gateway.get(f"/api/segments/{segment['id']}", headers=admin).json()["size"] == 1


def test_a_rule_that_time_makes_true_is_entered_by_the_sweep(
    stack: Stack, gateway: httpx.Client, shop: dict[str, Any]
) -> None:
    admin, write, user = shop["admin"], shop["write"], shop["prefix"] + "lapsing"
    segment = create(gateway, admin, {"field": "last_order_at", "op": "not_within_last_days", "value": 1})
    since = offsets(stack)
    # The order turns one day old seconds from now: no event will say so, only the sweep.
    order(gateway, write, user, 20.0, datetime.now(UTC) - timedelta(days=1) + timedelta(seconds=15))

    events = of_segment(segment, segment_events(stack, since, lambda es: len(of_segment(segment, es)) >= 1))
    assert [(e["type"], e["payload"]["cause"], e["payload"]["user_id"]) for e in events] == [
        ("segment.entered", "sweep", user)
    ]


def test_changing_the_rule_recomputes_and_deleting_exits_everyone(
    stack: Stack, gateway: httpx.Client, shop: dict[str, Any]
) -> None:
    admin, write, prefix = shop["admin"], shop["write"], shop["prefix"]
    users = [f"{prefix}bulk{n}" for n in range(3)]
    for n, user in enumerate(users):
        gateway.post("/v1/identify", json={"userId": user, "traits": {"group": "bulk"}}, auth=write)
        order(gateway, write, user, 100.0 * (n + 1), datetime.now(UTC))
    bulk = {"field": "traits.group", "op": "eq", "value": "bulk"}
    bought = {"all": [bulk, {"field": "lifetime_value", "op": "gt", "value": 0}]}
    wait_until_previewed(gateway, admin, bought, 3)
    segment = create(gateway, admin, bulk)
    assert segment["size"] == 3
    since = offsets(stack)

    changed = gateway.put(
        f"/api/segments/{segment['id']}",
        json={"rule": {"all": [bulk, {"field": "lifetime_value", "op": "between", "value": [150, 250]}]}},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["version"], changed.json()["size"]) == (segment["version"] + 1, 1)
    assert [m["user_id"] for m in members(gateway, admin, segment["id"])["items"]] == [users[1]]
    assert gateway.delete(f"/api/segments/{segment['id']}", headers=admin).status_code == 204
    assert gateway.get(f"/api/segments/{segment['id']}", headers=admin).status_code == 404

    events = of_segment(segment, segment_events(stack, since, lambda es: len(of_segment(segment, es)) >= 3))
    assert sorted((e["type"], e["payload"]["cause"], e["payload"]["user_id"]) for e in events) == [
        ("segment.exited", "deleted", users[1]),
        ("segment.exited", "recompute", users[0]),
        ("segment.exited", "recompute", users[2]),
    ]
    assert all(e["payload"]["rule_version"] == segment["version"] + 1 for e in events)


def test_members_page_by_cursor_and_come_whole_as_csv(gateway: httpx.Client, shop: dict[str, Any]) -> None:
    admin, write, prefix = shop["admin"], shop["write"], shop["prefix"]
    users = [f"{prefix}csv{n}" for n in range(5)]
    for user in users:
        gateway.post("/v1/identify", json={"userId": user, "traits": {"plan": "csv-test"}}, auth=write)
    rule = {"field": "traits.plan", "op": "eq", "value": "CSV-TEST"}  # text compares ignore case
    wait_until_previewed(gateway, admin, rule, 5)
    segment = create(gateway, admin, rule)
    assert segment["size"] == 5

    first = members(gateway, admin, segment["id"], limit=2)
    second = members(gateway, admin, segment["id"], limit=2, cursor=first["next_cursor"])
    third = members(gateway, admin, segment["id"], limit=2, cursor=second["next_cursor"])
    paged = [m["user_id"] for page in (first, second, third) for m in page["items"]]
    assert sorted(paged) == sorted(users) and third["next_cursor"] is None

    for extra in ({"params": {"format": "csv"}}, {"headers": {"Accept": "text/csv"}}):
        response = gateway.get(
            f"/api/segments/{segment['id']}/members",
            params=extra.get("params"),
            headers={**admin, **extra.get("headers", {})},
        )
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert sorted(r["user_id"] for r in rows) == sorted(users)
    history = gateway.get(f"/api/segments/{segment['id']}/sizes", headers=admin).json()["items"]
    assert history[0]["size"] == 5


def test_a_bad_rule_is_a_400_naming_every_bad_node(gateway: httpx.Client, shop: dict[str, Any]) -> None:
    rule = {"all": [VALUABLE, {"field": "no_such_field", "op": "eq", "value": 1}, {"field": "state"}]}
    for method, path, body in (
        ("post", "/api/segments", {"name": "bad", "rule": rule}),
        ("post", "/api/segments/preview", {"rule": rule}),
    ):
        response = gateway.request(method, path, json=body, headers=shop["admin"])
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "invalid_input"
        paths = {detail["path"] for detail in error["details"]}
        assert any(p.startswith("rule.all[1]") for p in paths) and any(
            p.startswith("rule.all[2]") for p in paths
        )
    assert gateway.put("/api/segments/seg_nope", json={"name": "x"}, headers=shop["admin"]).status_code == 404


def test_preview_and_the_catalogue_speak_of_this_workspace(
    gateway: httpx.Client, shop: dict[str, Any]
) -> None:
    admin = shop["admin"]
    order(gateway, shop["write"], shop["prefix"] + "previewed", 700.0, datetime.now(UTC))
    found = wait_until_previewed(gateway, admin, VALUABLE, 1, at_least=True)
    assert "lifetime_value" in found["sql"] and found["took_ms"] >= 0
    assert all(row["lifetime_value"] >= 500 for row in found["sample"])

    catalogue = gateway.get("/api/segments/fields", headers=admin).json()
    fields = {f["name"]: f for f in catalogue["fields"]}
    assert fields["lifetime_value"]["type"] == "number" and "gte" in fields["lifetime_value"]["operators"]
    assert set(fields["lifetime_value"]["percentiles"]) == {"p25", "p50", "p75", "p90"}
    assert "Order Completed" in {e["name"] for e in catalogue["events"]}


def test_a_rule_names_the_shops_products_categories_and_brands_on_order_lines(
    gateway: httpx.Client, shop: dict[str, Any]
) -> None:
    admin, write, prefix = shop["admin"], shop["write"], shop["prefix"]
    nike_shoes = {"product_id": "P-1", "sku": "NK-RUN-42", "brand": "Nike", "category": "Shoes", "price": 120}
    nike_shirt = {"product_id": "P-2", "sku": "NK-TEE", "brand": "Nike", "category": "Apparel", "price": 30}
    adidas_shoes = {"product_id": "P-3", "sku": "AD-9", "brand": "Adidas", "category": "Shoes", "price": 90}
    now = datetime.now(UTC)
    order(gateway, write, prefix + "runner", 120.0, now, [nike_shoes])
    order(gateway, write, prefix + "mixed", 120.0, now, [nike_shirt, adidas_shoes])
    # "Bought Nike shoes": one line that is both; the mixed order has Nike and shoes on two lines.
    rule = {
        "event": "Order Completed",
        "op": "performed",
        "where": [
            {"property": "products.brand", "op": "eq", "value": "nike"},
            {"property": "products.category", "op": "eq", "value": "Shoes"},
        ],
    }
    shoes = {
        "event": "Order Completed",
        "op": "performed",
        "where": [{"property": "products.category", "op": "eq", "value": "Shoes"}],
    }
    wait_until_previewed(gateway, admin, shoes, 2)
    found = wait_until_previewed(gateway, admin, rule, 1)
    assert [row["user_id"] for row in found["sample"]] == [prefix + "runner"]
    sku = {
        "event": "Order Completed",
        "op": "performed",
        "where": [{"property": "products.sku", "op": "eq", "value": "AD-9"}],
    }
    assert [r["user_id"] for r in wait_until_previewed(gateway, admin, sku, 1)["sample"]] == [
        prefix + "mixed"
    ]

    catalogue = gateway.get("/api/segments/fields", headers=admin).json()
    [orders] = [e for e in catalogue["events"] if e["name"] == "Order Completed"]
    properties = {p["name"]: p for p in orders["properties"]}
    assert properties["products.category"]["type"] == "text"
    assert set(properties["products.category"]["examples"]) == {"Shoes", "Apparel"}
    assert properties["products.category"]["examples"][0] == "Shoes"  # most frequent first
    assert set(properties["products.brand"]["examples"]) == {"Nike", "Adidas"}
    assert set(properties["products.sku"]["examples"]) == {"NK-RUN-42", "NK-TEE", "AD-9"}
    assert properties["products.price"]["type"] == "number"


# --- probes for tests/e2e/test_tenancy.py: B never sees or touches A's segments ---------------------

_A_SEGMENTS: dict[int, str] = {}


def _a_segment(w: Any) -> str:
    """A segment of A's holding A's customer (made once per world)."""
    if id(w) not in _A_SEGMENTS:
        rule = {"field": "email", "op": "eq", "value": f"{w.a_user}@example.com"}
        wait_until_previewed(w.gateway, w.a_admin, rule, 1)
        segment = create(w.gateway, w.a_admin, rule)
        assert segment["size"] == 1, segment
        _A_SEGMENTS[id(w)] = segment["id"]
    return _A_SEGMENTS[id(w)]


def _list(w: Any) -> None:
    a_id = _a_segment(w)
    items = w.gateway.get("/api/segments", params={"limit": 500}, headers=w.b_admin).json()["items"]
    assert a_id not in {s["id"] for s in items}


def _create(w: Any) -> None:
    """B's segment of everyone holds B's customers only, and A never sees it."""
    segment = create(w.gateway, w.b_admin, {"field": "customer_id", "op": "exists"})
    emails = {m["email"] for m in members(w.gateway, w.b_admin, segment["id"], limit=500)["items"]}
    assert f"{w.a_user}@example.com" not in emails
    assert w.gateway.get(f"/api/segments/{segment['id']}", headers=w.a_admin).status_code == 404


def _not_found(method: str, suffix: str = "") -> Callable[[Any], None]:
    def probe(w: Any) -> None:
        a_id = _a_segment(w)
        body = {"name": "B was here"} if method == "put" else None
        response = w.gateway.request(method, f"/api/segments/{a_id}{suffix}", json=body, headers=w.b_admin)
        assert response.status_code == 404, response.text
        still = w.gateway.get(f"/api/segments/{a_id}", headers=w.a_admin).json()
        assert still["name"] != "B was here" and still["size"] == 1

    return probe


def _preview(w: Any) -> None:
    rule = {"field": "email", "op": "eq", "value": f"{w.a_user}@example.com"}
    found = w.gateway.post("/api/segments/preview", json={"rule": rule}, headers=w.b_admin).json()
    assert found["count"] == 0 and found["sample"] == []


def _fields(w: Any) -> None:
    body = w.gateway.get("/api/segments/fields", headers=w.b_admin).json()
    examples = [value for f in body["fields"] + body["traits"] for value in f["examples"]]
    assert f"{w.a_user}@example.com" not in examples


SEGMENT_PROBES: dict[tuple[str, str], Callable[[Any], None]] = {
    ("get", "/api/segments"): _list,
    ("post", "/api/segments"): _create,
    ("get", "/api/segments/{segment_id}"): _not_found("get"),
    ("put", "/api/segments/{segment_id}"): _not_found("put"),
    ("delete", "/api/segments/{segment_id}"): _not_found("delete"),
    ("get", "/api/segments/{segment_id}/members"): _not_found("get", "/members"),
    ("get", "/api/segments/{segment_id}/sizes"): _not_found("get", "/sizes"),
    ("post", "/api/segments/preview"): _preview,
    ("get", "/api/segments/fields"): _fields,
}
