"""Graph validation on save: every problem names its step."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.campaigns.domain.flow import Flow
from services.campaigns.domain.graph import validate_flow
from services.campaigns.domain.templates import check_template
from services.campaigns.tests.flows import welcome, with_step


def problems(data: dict[str, Any]) -> list[tuple[str | None, str]]:
    flow = Flow.model_validate(data)
    return [(p.step, p.code) for p in validate_flow(flow, template_check=check_template)]


def test_the_issues_flow_is_valid() -> None:
    assert problems(welcome()) == []


def test_every_step_type_parses() -> None:
    flow = welcome(
        entry_step="a",
        steps=[
            {"id": "a", "type": "send_webhook", "url": "https://example.com/h", "next": "b"},
            {
                "id": "b",
                "type": "split",
                "variants": [
                    {"name": "A", "weight": 1, "next": "c"},
                    {"name": "B", "weight": 1, "next": "d"},
                ],
            },
            {"id": "c", "type": "update_trait", "traits": {"vip": True}, "next": "d"},
            {
                "id": "d",
                "type": "wait_for_event",
                "event": "Order Completed",
                "timeout_seconds": 60,
                "on_event": "e",
                "on_timeout": "f",
            },
            {"id": "e", "type": "delay", "until": "09:30", "next": "f"},
            {"id": "f", "type": "exit"},
        ],
        trigger={"type": "event", "event": "Signed Up", "properties": {"plan": "pro"}},
        frequency_cap={"max_emails": 2, "per_seconds": 86400},
        quiet_hours={"start": "22:00", "end": "08:00"},
    )
    assert problems(flow) == []


def test_unknown_next_names_the_step() -> None:
    assert problems(with_step(welcome(), "wait", next="nowhere")) == [("wait", "unknown_next")]


def test_a_step_leading_nowhere_is_a_dead_end() -> None:
    assert problems(with_step(welcome(), "offer", next=None)) == [("offer", "dead_end")]


def test_unknown_entry_step() -> None:
    assert problems(welcome(entry_step="nope")) == [(None, "unknown_entry_step")]


def test_duplicate_ids() -> None:
    flow = welcome()
    flow["steps"].append({"id": "done", "type": "exit"})
    assert ("done", "duplicate_step") in problems(flow)


def test_cycle_without_a_delay_is_refused_and_named() -> None:
    flow = with_step(welcome(), "offer", next="check")
    assert ("check", "cycle_without_delay") in problems(flow)


def test_cycle_through_a_delay_is_allowed() -> None:
    flow = with_step(welcome(), "offer", next="wait")
    assert problems(flow) == []


def test_a_cycle_with_no_way_out_never_ends() -> None:
    flow = with_step(with_step(welcome(), "check", yes="offer"), "offer", next="wait")
    assert ("check", "never_ends") in problems(flow)


def test_unreachable_step() -> None:
    flow = welcome()
    flow["steps"].append({"id": "orphan", "type": "exit"})
    assert problems(flow) == [("orphan", "unreachable")]


def test_delay_needs_exactly_one_of_seconds_or_until() -> None:
    assert problems(with_step(welcome(), "wait", until="09:00")) == [("wait", "invalid_delay")]
    assert problems(with_step(welcome(), "wait", seconds=None)) == [("wait", "invalid_delay")]


def test_send_email_needs_one_template() -> None:
    flow = with_step(welcome(), "offer", template_id=None)
    assert problems(flow) == [("offer", "invalid_template")]


def test_template_syntax_errors_name_the_step() -> None:
    flow = with_step(welcome(), "hello", template={"subject": "Hi {{ customer.first_name", "html": ""})
    assert problems(flow) == [("hello", "invalid_template")]


def test_rule_problems_come_from_the_rule_checker() -> None:
    flow = Flow.model_validate(welcome())
    found = validate_flow(
        flow, rule_check=lambda rule: "bad field" if rule["field"] == "orders_count" else None
    )
    assert [(p.step, p.code, p.message) for p in found] == [("check", "invalid_rule", "bad field")]


@pytest.mark.parametrize(
    "change",
    [
        {"trigger": {"type": "sometimes"}},
        {"steps": []},
        {"reentry": {"policy": "twice"}},
        {"quiet_hours": {"start": "25:00", "end": "08:00"}},
    ],
)
def test_malformed_flows_are_refused_by_the_model(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Flow.model_validate(welcome(**change))


def test_unknown_step_type_is_refused() -> None:
    with pytest.raises(ValidationError):
        Flow.model_validate(with_step(welcome(), "wait", type="teleport"))
