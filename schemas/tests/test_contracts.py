"""The contracts: exported JSON Schemas are current, envelopes validate what they promise."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import jsonschema
import pytest
from pydantic import ValidationError

from schemas.customer_events import CustomerEvent, Identify, Track
from schemas.export import OUTPUT, rendered, stale_files
from schemas.topics import CUSTOMER_EVENTS, TOPICS, topic

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_exported_json_schemas_are_current() -> None:
    assert stale_files() == [], "run `make schemas` and commit schemas/jsonschema/"


def test_every_topic_has_a_versioned_name_and_its_own_dlq() -> None:
    names = [spec.name for spec in TOPICS]
    assert len(set(names)) == len(names)
    for spec in TOPICS:
        assert spec.name.rsplit(".", 1)[-1].startswith("v")
        assert topic(spec.dlq) is spec
        assert dict(spec.kafka_topics())[spec.dlq]["retention.ms"]


def test_a_serialised_event_validates_against_its_exported_schema() -> None:
    event = CustomerEvent(
        event_id="m1",
        workspace_id="ws",
        type="track",
        occurred_at=NOW,
        payload=Track(message_id="m1", user_id="u1", event="Order Completed", properties={"total": 10}),
    )
    schema = json.loads((OUTPUT / f"{CUSTOMER_EVENTS.name}.json").read_text())
    jsonschema.validate(json.loads(event.model_dump_json()), schema)
    assert set(rendered()) == {f"{spec.name}.json" for spec in TOPICS}


def test_a_call_needs_an_identity() -> None:
    with pytest.raises(ValidationError, match="userId or anonymousId"):
        Identify(message_id="m1")


def test_the_envelope_type_must_match_the_payload() -> None:
    with pytest.raises(ValidationError, match="does not match"):
        CustomerEvent(
            event_id="m1",
            workspace_id="ws",
            type="identify",
            occurred_at=NOW,
            payload=Track(message_id="m1", user_id="u", event="E"),
        )


def test_unknown_envelope_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        CustomerEvent.model_validate(
            {
                "event_id": "m",
                "workspace_id": "w",
                "type": "alias",
                "occurred_at": NOW,
                "payload": {"type": "alias", "message_id": "m", "user_id": "u", "previous_id": "p"},
                "surprise": 1,
            }
        )
