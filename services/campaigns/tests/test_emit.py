"""Send events built as plain dicts are byte for byte what the contract's model would encode."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cdpkit.kafka import encode
from schemas.campaigns import SendEvent
from services.campaigns.domain.journey import Effect
from services.campaigns.emit import Emission, emit_effect

NOW = datetime(2026, 6, 1, 12, 30, 1, 123456, tzinfo=UTC)


def emitted(effect: Effect, template: dict[str, Any] | None = None) -> Emission:
    out = Emission.empty()
    problem = emit_effect(
        out,
        effect,
        workspace_id="ws",
        flow_id="f1",
        enrollment_id="f1:c1:1",
        customer_id="c1",
        profile={"customer_id": "c1", "user_id": "u1"},
        template=template,
        now=NOW,
    )
    assert problem is None
    return out


def test_an_email_with_an_offer_encodes_like_the_model() -> None:
    spec = {
        "template": {"subject": "Hi", "html": "<p>é</p>", "text": "t"},
        "template_id": None,
        "offer": {"type": "percent", "value": 10.0, "item": None, "expires_in_days": None},
        "marketing": True,
        "offer_code": "AB12-CD34-EF56",
        "variant": "B",
    }
    out = emitted(Effect("email", "hello", 3, spec))
    [(topic, key, value, _)] = out.messages
    assert value is not None
    event = SendEvent.model_validate_json(value)
    assert value == encode(event)
    assert event.payload.offer is not None and event.payload.offer.code == "AB12-CD34-EF56"
    assert (topic, key) == ("cdp.campaign-sends.v1", b"ws:c1")
    assert out.offers[0][1] == "AB12-CD34-EF56" and out.sends[0][2] == "email"


def test_a_stored_template_and_a_webhook_encode_like_the_model() -> None:
    stored = {"subject": "S", "html": None, "text": "x", "marketing": False}
    spec = {"template": None, "template_id": "t1", "offer": None, "marketing": True, "variant": None}
    [(_, _, email, _)] = emitted(Effect("email", "s", 1, spec), stored).messages
    assert email is not None
    assert email == encode(SendEvent.model_validate_json(email))
    assert SendEvent.model_validate_json(email).payload.marketing is False
    hook = Effect("webhook", "h", 2, {"url": "https://example.com/x", "body": {"a": [1, 2]}})
    [(_, _, value, _)] = emitted(hook).messages
    assert value is not None
    assert value == encode(SendEvent.model_validate_json(value))


def test_the_same_effect_gets_the_same_id_and_another_visit_another() -> None:
    spec = {
        "template": {"subject": "Hi"},
        "template_id": None,
        "offer": None,
        "marketing": True,
        "variant": None,
    }
    first = emitted(Effect("email", "hello", 1, spec)).sends[0][1]
    again = emitted(Effect("email", "hello", 1, spec)).sends[0][1]
    later = emitted(Effect("email", "hello", 5, spec)).sends[0][1]
    assert first == again != later
