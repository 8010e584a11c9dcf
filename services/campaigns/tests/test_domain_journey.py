"""An enrollment's way through its flow: effects, pauses, branches, splits, caps and quiet hours."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from services.campaigns.domain.flow import Flow
from services.campaigns.domain.journey import Advance, Position, advance, event_arrived, start
from services.campaigns.tests.flows import simple_rule, welcome, with_step

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
ANN: dict[str, Any] = {"customer_id": "c1", "first_name": "Ann", "orders_count": 0, "traits": {}}


def run(
    flow: Flow, position: Position, profile: dict[str, Any] | None = ANN, now: datetime = NOW, **kw: Any
) -> Advance:
    return advance(flow, position, profile, now, enrollment_id="e1", visits=0, evaluate=simple_rule, **kw)


def test_first_email_then_the_delay() -> None:
    flow = Flow.model_validate(welcome())
    step = run(flow, start(flow, NOW))
    assert [(e.kind, e.step) for e in step.effects] == [("email", "hello")]
    assert step.position == Position("wait", "delayed", NOW + timedelta(seconds=259200))
    assert [h["outcome"] for h in step.history] == ["email_sent", "delayed"]


def test_after_the_delay_the_branch_sends_the_offer_to_a_non_buyer() -> None:
    flow = Flow.model_validate(welcome())
    later = NOW + timedelta(days=3)
    step = run(flow, Position("wait", "delayed", later), now=later)
    assert [(e.kind, e.step) for e in step.effects] == [("email", "offer")]
    assert step.effects[0].spec["offer_code"]
    assert step.position.state == "completed"
    assert [h["outcome"] for h in step.history] == ["delay_over", "no", "email_sent", "completed"]


def test_a_buyer_takes_the_yes_branch() -> None:
    flow = Flow.model_validate(welcome())
    step = run(flow, Position("wait", "delayed", NOW), profile={**ANN, "orders_count": 2})
    assert step.effects == [] and step.position.step == "done"


def test_without_a_profile_the_branch_says_no() -> None:
    flow = Flow.model_validate(welcome())
    assert run(flow, Position("check", "ready", NOW), profile=None).effects[0].step == "offer"


def test_offer_codes_are_stable_per_enrollment_and_differ_between() -> None:
    flow = Flow.model_validate(welcome())

    def code(enrollment: str) -> str:
        out = advance(
            flow,
            Position("offer", "ready", NOW),
            ANN,
            NOW,
            enrollment_id=enrollment,
            visits=0,
            evaluate=simple_rule,
        )
        return str(out.effects[0].spec["offer_code"])

    assert code("e1") == code("e1") != code("e2")


def wait_flow() -> Flow:
    return Flow.model_validate(
        welcome(
            entry_step="w",
            steps=[
                {
                    "id": "w",
                    "type": "wait_for_event",
                    "event": "Order Completed",
                    "timeout_seconds": 3600,
                    "on_event": "thanks",
                    "on_timeout": "nudge",
                },
                {"id": "thanks", "type": "send_email", "template_id": "t1", "next": "end"},
                {"id": "nudge", "type": "send_email", "template_id": "t2", "next": "end"},
                {"id": "end", "type": "exit"},
            ],
        )
    )


def test_wait_for_event_times_out() -> None:
    flow = wait_flow()
    waiting = run(flow, start(flow, NOW)).position
    assert waiting == Position("w", "waiting", NOW + timedelta(hours=1))
    assert run(flow, waiting).effects[0].step == "nudge"


def test_wait_for_event_goes_on_when_it_happens() -> None:
    flow = wait_flow()
    waiting = run(flow, start(flow, NOW)).position
    assert event_arrived(flow, waiting, "Product Viewed", NOW) is None
    moved = event_arrived(flow, waiting, "Order Completed", NOW)
    assert moved == Position("thanks", "ready", NOW)
    assert run(flow, moved).effects[0].step == "thanks"


def test_split_follows_the_weights_and_is_fixed_per_enrollment() -> None:
    flow = Flow.model_validate(
        welcome(
            entry_step="ab",
            steps=[
                {
                    "id": "ab",
                    "type": "split",
                    "variants": [
                        {"name": "A", "weight": 3, "next": "end"},
                        {"name": "B", "weight": 1, "next": "end"},
                    ],
                },
                {"id": "end", "type": "exit"},
            ],
        )
    )
    picks = Counter(
        advance(
            flow, start(flow, NOW), ANN, NOW, enrollment_id=f"e{i}", visits=0, evaluate=simple_rule
        ).position.variant
        for i in range(2000)
    )
    assert 0.7 < picks["A"] / 2000 < 0.8
    assert run(flow, start(flow, NOW)).position.variant == run(flow, start(flow, NOW)).position.variant


def test_frequency_cap_skips_the_email_and_goes_on() -> None:
    flow = Flow.model_validate(welcome(frequency_cap={"max_emails": 1, "per_seconds": 86400}))
    step = run(flow, start(flow, NOW), emails_in_window=1)
    assert step.effects == [] and step.history[0]["outcome"] == "capped"
    assert step.position.step == "wait"


def test_quiet_hours_hold_the_email_until_they_end_in_the_customers_zone() -> None:
    flow = Flow.model_validate(welcome(quiet_hours={"start": "22:00", "end": "08:00"}))
    tokyo = {**ANN, "traits": {"timezone": "Asia/Tokyo"}}  # 12:00 UTC is 21:00 in Tokyo: not quiet
    assert run(flow, start(flow, NOW), profile=tokyo).effects
    late = NOW + timedelta(hours=2)  # 23:00 in Tokyo
    held = run(flow, start(flow, late), profile=tokyo, now=late)
    assert held.effects == []
    assert held.position == Position("hello", "ready", datetime(2026, 6, 1, 23, tzinfo=UTC))


def test_delay_until_a_time_of_day_in_the_customers_zone() -> None:
    flow = Flow.model_validate(with_step(welcome(), "wait", seconds=None, until="09:00"))
    ny = {**ANN, "traits": {"timezone": "America/New_York"}}  # 12:00 UTC is 08:00 in New York (EDT)
    assert run(flow, start(flow, NOW), profile=ny).position.due_at == datetime(2026, 6, 1, 13, tzinfo=UTC)
    # An unknown zone falls back to UTC: 09:00 has passed, so tomorrow.
    bad = {**ANN, "traits": {"timezone": "Mars/Olympus"}}
    assert run(flow, start(flow, NOW), profile=bad).position.due_at == datetime(2026, 6, 2, 9, tzinfo=UTC)


def test_webhook_and_trait_effects() -> None:
    flow = Flow.model_validate(
        welcome(
            entry_step="h",
            steps=[
                {
                    "id": "h",
                    "type": "send_webhook",
                    "url": "http://127.0.0.1:9/x",
                    "body": {"a": 1},
                    "next": "t",
                },
                {"id": "t", "type": "update_trait", "traits": {"welcomed": True}, "next": "end"},
                {"id": "end", "type": "exit"},
            ],
        )
    )
    effects = run(flow, start(flow, NOW)).effects
    assert [(e.kind, e.spec) for e in effects] == [
        ("webhook", {"url": "http://127.0.0.1:9/x", "body": {"a": 1}}),
        ("trait", {"traits": {"welcomed": True}}),
    ]
    assert [e.visit for e in effects] == [1, 2]
