"""Flow JSON for tests: the shape of issue 7, and small variations."""

from __future__ import annotations

import copy
from typing import Any

WELCOME: dict[str, Any] = {
    "name": "Welcome",
    "trigger": {"type": "segment_entered", "segment_id": "seg-new"},
    "entry_step": "hello",
    "steps": [
        {
            "id": "hello",
            "type": "send_email",
            "template": {
                "subject": "Welcome {{ customer.first_name }}",
                "html": "<p>Hi {{ customer.first_name }}</p>",
                "text": "Hi {{ customer.first_name }}",
            },
            "next": "wait",
        },
        {"id": "wait", "type": "delay", "seconds": 259200, "next": "check"},
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
            "template_id": "tpl-offer",
            "offer": {"type": "percent", "value": 10},
            "next": "done",
        },
        {"id": "done", "type": "exit"},
    ],
    "exit_when": [{"event": "Order Completed"}],
    "reentry": {"policy": "never"},
}


def welcome(**changes: Any) -> dict[str, Any]:
    """A deep copy of WELCOME with top-level keys replaced."""
    return {**copy.deepcopy(WELCOME), **changes}


def with_step(flow: dict[str, Any], step_id: str, **changes: Any) -> dict[str, Any]:
    """The flow with one step's fields replaced (None removes a field)."""
    flow = copy.deepcopy(flow)
    for step in flow["steps"]:
        if step["id"] == step_id:
            step.update(changes)
            for key in [k for k, v in changes.items() if v is None]:
                del step[key]
    return flow


def simple_rule(rule: dict[str, Any], profile: dict[str, Any]) -> bool:
    """A stand-in evaluator for `{"field", "op": "gte"|"eq", "value"}` rules in unit tests."""
    actual = profile.get(rule["field"])
    if rule["op"] == "eq":
        return bool(actual == rule["value"])
    return actual is not None and actual >= rule["value"]
