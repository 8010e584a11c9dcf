"""Typed properties of the known track events: what they accept, normalise, keep and refuse."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from schemas.ecommerce import EVENT_PROPERTIES, snake_case, validate_properties
from schemas.export import OUTPUT

MONOPOLY = {
    "product_id": "507f1f77bcf86cd799439011",
    "sku": "G-32",
    "category": "Games",
    "name": "Monopoly: 3rd Edition",
    "brand": "Hasbro",
    "variant": "200 pieces",
    "price": 18.99,
    "quantity": 1,
    "coupon": "MAYDEALS",
    "position": 3,
    "url": "https://www.example.com/product/path",
    "image_url": "https://www.example.com/product/path.jpg",
}
UNO = {"product_id": "505bd76785ebb509fc183733", "sku": "46493-32", "name": "Uno", "price": 3, "quantity": 2}
ORDER = {
    "checkout_id": "fksdjfsdjfisjf9sdfjsd9f",
    "order_id": "50314b8e9bcf000000000000",
    "affiliation": "Google Store",
    "total": 27.5,
    "subtotal": 22.5,
    "revenue": 25.0,
    "shipping": 3,
    "tax": 2,
    "discount": 2.5,
    "coupon": "hasbros",
    "currency": "USD",
    "products": [MONOPOLY, UNO],
}
EMAIL = {"campaign_id": "c-1", "flow_id": "f-1", "step_id": "s-2", "email_id": "e-9", "message_id": "m-9"}
EXAMPLES: dict[str, dict[str, Any]] = {
    "Products Searched": {"query": "blue roses"},
    "Product Viewed": {**MONOPOLY, "currency": "USD", "value": 18.99},
    "Product Added": {**MONOPOLY, "cart_id": "skdjsidjsdkdj29j"},
    "Product Removed": {**MONOPOLY, "cart_id": "ksjdj92dj29dj92d2j"},
    "Cart Viewed": {"cart_id": "d92jd29jd92jd29j92d92jd", "products": [MONOPOLY, UNO], "value": 24.99},
    "Checkout Started": {**ORDER, "value": 30, "cart_id": "d92jd29j"},
    "Order Completed": ORDER,
    "Order Updated": ORDER,
    "Order Refunded": {"order_id": "50314b8e9bcf000000000000", "total": 30, "currency": "USD"},
    "Order Cancelled": ORDER,
    "Coupon Applied": {
        "order_id": "50314b8e9bcf000000000000",
        "cart_id": "923923929jd29jd92dj9j93fj3",
        "coupon_id": "may_deals_2016",
        "coupon_name": "May Deals 2016",
        "discount": 23.32,
    },
    "Support Interaction": {
        "interaction_type": "complaint",
        "channel": "chat",
        "resolution_status": "resolved",
        "satisfaction_score": 4,
    },
    "Email Delivered": EMAIL,
    "Email Opened": EMAIL,
    "Email Link Clicked": {**EMAIL, "url": "https://shop.example/sale"},
    "Unsubscribed": EMAIL,
}


def order(**changes: Any) -> dict[str, Any]:
    return {**ORDER, **changes}


def test_every_known_event_has_an_example() -> None:
    assert set(EXAMPLES) == set(EVENT_PROPERTIES)


@pytest.mark.parametrize("event", list(EVENT_PROPERTIES))
def test_a_realistic_example_is_accepted_and_custom_properties_are_kept(event: str) -> None:
    sent = {**EXAMPLES[event], "loyalty_tier": "gold", "ab_test": {"variant": "B"}}
    kept = validate_properties(event, sent)
    assert {name: kept[name] for name in sent} == sent
    schema = json.loads((OUTPUT / "ecommerce" / f"{snake_case(event)}.json").read_text())
    jsonschema.validate(kept, schema)


def test_order_completed_requires_an_order_id() -> None:
    without = {k: v for k, v in ORDER.items() if k != "order_id"}
    with pytest.raises(ValueError, match=r"^properties\.order_id: is required$"):
        validate_properties("Order Completed", without)
    with pytest.raises(ValueError, match=r"properties\.order_id: must not be empty"):
        validate_properties("Order Completed", order(order_id=""))


@pytest.mark.parametrize(
    ("properties", "reason"),
    [
        (order(products=[MONOPOLY, {**UNO, "price": -3}]), "products[1].price: must be ≥ 0"),
        (order(products=[{**UNO, "quantity": 0}]), "products[0].quantity: must be ≥ 1"),
        (order(products=[{**UNO, "quantity": 1.5}]), "products[0].quantity: must be a whole number"),
        (order(products=[{**UNO, "price": True}]), "products[0].price: must be a number, not a boolean"),
        (order(products=["Uno"]), "products[0]: must be an object"),
        (order(products={"sku": "x"}), "products: must be a list"),
        (order(total="twenty"), "total: must be a number"),
        (order(total=-1), "total: must be ≥ 0"),
        (order(total="NaN"), "total: must be a finite number"),
        (order(currency="dollars"), "currency: must be a 3-letter ISO 4217 currency code, e.g. USD"),
        (order(coupon=["a"]), "coupon: must be a string"),
    ],
)
def test_a_malformed_order_says_which_property_and_why(properties: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValueError) as refused:
        validate_properties("Order Completed", properties)
    assert str(refused.value) == f"properties.{reason}"


def test_an_order_is_normalised() -> None:
    kept = validate_properties(
        "Order Completed",
        {"order_id": 1042, "total": "19.99", "currency": " eur ", "products": [{"sku": 7, "price": "19.99"}]},
    )
    assert kept == {
        "order_id": "1042",
        "total": 19.99,
        "currency": "EUR",
        "products": [{"sku": "7", "price": 19.99, "quantity": 1}],
    }


def test_quantity_defaults_to_one_and_nulls_sent_are_kept_not_invented() -> None:
    kept = validate_properties("Product Added", {"product_id": "p", "quantity": None, "coupon": None})
    assert kept == {"product_id": "p", "quantity": 1, "coupon": None}


def support(**properties: Any) -> dict[str, Any]:
    return validate_properties("Support Interaction", properties)


@pytest.mark.parametrize("score", [0, 6, 4.5, "five"])
def test_a_satisfaction_score_is_a_whole_number_from_1_to_5(score: object) -> None:
    with pytest.raises(ValueError, match=r"properties\.satisfaction_score: must be"):
        support(interaction_type="feedback", satisfaction_score=score)


def test_a_satisfaction_score_is_optional_and_the_interaction_type_is_not() -> None:
    assert support(interaction_type="inquiry", satisfaction_score="5")["satisfaction_score"] == 5
    assert support(interaction_type="inquiry") == {"interaction_type": "inquiry"}
    with pytest.raises(ValueError, match=r"properties\.interaction_type: is required"):
        support(channel="email")


def test_a_search_query_is_a_string_or_an_object() -> None:
    assert validate_properties("Products Searched", {"query": {"q": "roses", "color": "blue"}})["query"] == {
        "q": "roses",
        "color": "blue",
    }
    with pytest.raises(ValueError, match=r"properties\.query: must be a string or an object"):
        validate_properties("Products Searched", {"query": ["roses"]})


def test_an_unknown_event_passes_unchanged() -> None:
    properties = {"total": "not a number", "products": "anything", "currency": "dollars"}
    assert validate_properties("Loyalty Points Earned", properties) is properties
    # Names are Segment's, exactly: a differently cased name is not the known event.
    assert validate_properties("order completed", properties) is properties
