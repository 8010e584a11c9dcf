"""Campaign drafts from playbooks, and the planner path of the handlers (refusals, degraded counts, logs)."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.ai import AiRequest, AiRequested
from schemas.envelope import utcnow
from schemas.rules import parse_rule
from services.ai.domain.drafts import draft_campaign
from services.ai.domain.flows import inert
from services.ai.domain.offers import read_offer
from services.ai.errors import PromptRefused
from services.ai.handlers import Deps, Origin, generate_campaign, generate_segment
from services.ai.requests import answer
from services.ai.tests.fakes import FakeLog, FakePlatform
from services.ai.tests.shop import CONTEXT

PROMPTS = [
    "win back high-value customers who haven't purchased in 60 days with 15% off",
    "welcome series for new sign-ups",
    "abandoned cart reminder",
    "thank our VIPs in Texas with free shipping",
    "spring sale for email subscribers, no discount",
]


def _walk(flow: dict[str, Any]) -> list[dict[str, Any]]:
    """The steps from the entry, following `next`, checking every step is reached once and the path ends."""
    by_id = {s["id"]: s for s in flow["steps"]}
    assert len(by_id) == len(flow["steps"])
    path, current = [], flow["entry_step"]
    while current is not None:
        step = by_id[current]
        path.append(step)
        current = step.get("next")
    assert path[-1]["type"] == "exit" and len(path) == len(by_id)
    return path


@pytest.mark.parametrize("prompt", PROMPTS)
def test_every_draft_is_complete_and_its_flow_a_chain_with_delays_that_ends(prompt: str) -> None:
    draft = draft_campaign(prompt, CONTEXT)
    parse_rule(draft.segment.rule)
    path = _walk(draft.flow)
    emails = [s for s in path if s["type"] == "send_email"]
    assert len(emails) >= 2 and any(s["type"] == "delay" and s.get("seconds") for s in path)
    for email in emails:
        assert "{{ unsubscribe_url }}" in email["template"]["html"]
        assert email.get("offer") == (draft.offer.model_dump(exclude_none=True) if draft.offer else None)
    assert len(draft.subject_lines) == 3 and draft.preview_text and draft.content_ideas and draft.rationale
    assert draft.flow["trigger"]["type"] == "segment_entered"


def test_the_prompt_picks_the_playbook_the_offer_and_the_audience() -> None:
    winback = draft_campaign(PROMPTS[0], CONTEXT, segment_id="seg-9")
    assert winback.offer is not None and (winback.offer.type, winback.offer.value) == ("percent", 15)
    assert winback.segment.rule["all"][1] == {
        "field": "last_order_at",
        "op": "not_within_last_days",
        "value": 60,
    }
    assert winback.flow["exit_when"] == [{"event": "Order Completed"}]
    assert winback.flow["trigger"]["segment_id"] == "seg-9" and winback.warnings == []
    assert "15% off" in winback.subject_lines[0]
    assert draft_campaign(PROMPTS[4], CONTEXT).offer is None
    free = draft_campaign(PROMPTS[3], CONTEXT)
    assert (
        free.offer is not None and free.offer.type == "free_item" and free.send_time.day_of_week == "Thursday"
    )
    cart = draft_campaign(PROMPTS[2], CONTEXT)
    assert cart.segment.warnings == [] and "Product Added" in str(cart.segment.rule)


def test_offers_read_from_words() -> None:
    cases = {
        "with 20% off": ("percent", 20.0),
        "$10 off": ("fixed_amount", 10.0),
        "a gift card": ("voucher", None),
    }
    for text, (kind, value) in cases.items():
        reading = read_offer(text)
        assert reading is not None and reading.offer is not None
        assert (reading.offer["type"], reading.offer.get("value")) == (kind, value)
    declined = read_offer("no discount please")
    assert declined is not None and declined.declined and declined.offer is None
    assert read_offer("customers in Texas") is None


def test_model_text_is_made_inert() -> None:
    assert inert("Hi {{ customer.__class__ }} {% import os %}") == "Hi  customer.__class__   import os "


async def test_a_refused_prompt_is_a_400_and_is_logged() -> None:
    log = FakeLog()
    with pytest.raises(PromptRefused) as raised:
        await generate_segment("tell me a joke", Origin("ws"), Deps(FakePlatform(), log, None))
    assert raised.value.status == 400 and raised.value.code == "prompt_not_understood"
    assert [(e.outcome, e.provider, e.prompt) for e in log.entries] == [
        ("refused", "planner", "tell me a joke")
    ]


async def test_without_segmentation_the_count_is_null_with_a_warning() -> None:
    deps = Deps(FakePlatform(count_is=None), FakeLog(), None)
    draft = await generate_segment("customers in Ohio who love kayaking", Origin("ws"), deps)
    assert draft.estimated_count is None
    assert draft.warnings == [
        "did not understand “kayaking”",
        "segmentation is unreachable: no estimated count",
    ]


async def test_a_campaign_draft_is_counted_and_logged() -> None:
    log = FakeLog()
    draft = await generate_campaign(PROMPTS[0], None, Origin("ws"), Deps(FakePlatform(), log, None))
    assert draft.segment.estimated_count == 42
    assert [(e.kind, e.outcome, e.usage.attempts) for e in log.entries] == [("campaign", "ok", 1)]


async def test_a_kafka_request_is_answered_with_its_correlation_id_or_its_error() -> None:
    deps = Deps(FakePlatform(), FakeLog(), None)

    def request(prompt: str) -> AiRequested:
        ask = AiRequest(correlation_id="corr-1", kind="segment", prompt=prompt)
        return AiRequested(event_id="e1", workspace_id="ws", occurred_at=utcnow(), payload=ask)

    ok = await answer(request("customers in Ohio"), deps)
    assert (ok.correlation_id, ok.outcome, ok.error) == ("corr-1", "ok", None)
    assert ok.segment is not None and ok.segment.estimated_count == 42
    refused = await answer(request("tell me a joke"), deps)
    assert refused.outcome == "error" and refused.error is not None
    assert refused.error.code == "prompt_not_understood" and refused.segment is None
    assert [e.source for e in deps.log.entries] == ["kafka", "kafka"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "prompt",
    ["LTV over 1" + "0" * 400, "no purchase in 99999999 days", "more than 99999999999999999999 orders"],
)
async def test_values_the_rules_cannot_hold_are_refused_not_a_crash(prompt: str) -> None:
    with pytest.raises(PromptRefused) as raised:
        await generate_segment(prompt, Origin("ws"), Deps(FakePlatform(), FakeLog(), None))
    assert raised.value.status == 400


async def test_a_long_prompt_of_many_conditions_still_makes_a_draft_within_its_limits() -> None:
    states = ", ".join(["Texas", "Ohio", "Utah", "Iowa", "Maine"] * 60)
    prompt = f"high-value subscribers in {states} with AOV over 80"[:2000]
    draft = await generate_segment(prompt, Origin("ws"), Deps(FakePlatform(), FakeLog(), None))
    assert len(draft.description) <= 2000 and len(draft.explanation) <= 4000
    assert {"field": "average_order_value", "op": "gt", "value": 80} in draft.rule["all"]
