"""Moving one enrollment through its flow: run steps until one waits, exits or ends.

Pure: the scheduler gives the enrollment, the customer's profile and the clock; what comes back is
the new position and the effects (emails, webhooks, trait updates) to emit in the same transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.campaigns.domain.flow import (
    Delay,
    Flow,
    QuietHours,
    Split,
    WaitForEvent,
)

# ready: run `step` when due; delayed: at a delay, go on to its next when due;
# waiting: at wait_for_event, its on_timeout when due; completed / exited: over.
State = Literal["ready", "delayed", "waiting", "completed", "exited"]
RuleEvaluator = Callable[[dict[str, Any], dict[str, Any]], bool]
MAX_STEPS_AT_ONCE = 200


@dataclass(frozen=True)
class Position:
    step: str
    state: State
    due_at: datetime | None
    variant: str | None = None


@dataclass(frozen=True)
class Effect:
    """Something to emit: `email`, `webhook` or `trait`, from step `step` (its `visit`-th run)."""

    kind: Literal["email", "webhook", "trait"]
    step: str
    visit: int
    spec: dict[str, Any]


@dataclass
class Advance:
    position: Position
    effects: list[Effect] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    visits: int = 0  # steps run by the enrollment so far, this run included


def start(flow: Flow, now: datetime) -> Position:
    """Where a new enrollment stands: its entry step, due now."""
    return Position(flow.entry_step, "ready", now)


def advance(
    flow: Flow,
    position: Position,
    profile: dict[str, Any] | None,
    now: datetime,
    *,
    enrollment_id: str,
    visits: int,
    evaluate: RuleEvaluator,
    emails_in_window: int = 0,
    winners: Mapping[str, str] | None = None,
) -> Advance:
    """Run the enrollment from its due position until it pauses or ends.

    `visits` counts the steps run before (it makes each effect's id unique and stable across a
    redo after a crash); `emails_in_window` is what this flow sent the customer within its cap's window;
    `winners` the variant each split with a decided automatic winner sends everyone to (by split id).
    """
    result = Advance(position, visits=visits)
    at = now.isoformat()
    step_id, variant = _resume(flow, position, result, at)
    for _ in range(MAX_STEPS_AT_ONCE):
        if step_id is None:
            break
        step = flow.step(step_id)
        result.visits += 1
        visits = result.visits
        # Dispatch on the type's name: isinstance on pydantic classes goes through ABCMeta, slowly.
        kind = step.type
        if kind == "exit":
            result.position = Position(step.id, "completed", None, variant)
            result.history.append(_entry(at, step.id, "completed"))
            return result
        if kind == "delay":
            due = (
                now + timedelta(seconds=step.seconds)
                if step.seconds is not None
                else _next_time(step.until or "00:00", _zone(profile), now)
            )
            result.position = Position(step.id, "delayed", due, variant)
            result.history.append(_entry(at, step.id, "delayed", until=due.isoformat()))
            return result
        if kind == "wait_for_event":
            due = now + timedelta(seconds=step.timeout_seconds)
            result.position = Position(step.id, "waiting", due, variant)
            result.history.append(_entry(at, step.id, "waiting", event=step.event))
            return result
        if kind == "send_email":
            if flow.quiet_hours and (end := _quiet_until(flow.quiet_hours, _zone(profile), now)):
                result.position = Position(step.id, "ready", end, variant)
                result.history.append(_entry(at, step.id, "quiet_hours", until=end.isoformat()))
                return result
            cap = flow.frequency_cap
            sent = emails_in_window + sum(1 for e in result.effects if e.kind == "email")
            if cap is not None and sent >= cap.max_emails:
                result.history.append(_entry(at, step.id, "capped"))
            else:
                spec = dict(step.spec)
                if step.offer is not None:
                    spec["offer_code"] = offer_code(enrollment_id, step.id)
                result.effects.append(Effect("email", step.id, visits, {**spec, "variant": variant}))
                result.history.append(_entry(at, step.id, "email_sent"))
            step_id = step.next
        elif kind == "send_webhook":
            result.effects.append(Effect("webhook", step.id, visits, {"url": step.url, "body": step.body}))
            result.history.append(_entry(at, step.id, "webhook_sent"))
            step_id = step.next
        elif kind == "update_trait":
            result.effects.append(Effect("trait", step.id, visits, {"traits": step.traits}))
            result.history.append(_entry(at, step.id, "trait_updated"))
            step_id = step.next
        elif kind == "branch":
            holds = profile is not None and evaluate(step.rule, profile)
            result.history.append(_entry(at, step.id, "yes" if holds else "no"))
            step_id = step.yes if holds else step.no
        elif kind == "split":
            won = _winner(step, winners)
            chosen = won or choose_variant(step, enrollment_id)
            variant = chosen.name
            by = "winner" if won else "weight"
            result.history.append(_entry(at, step.id, "variant", variant=chosen.name, by=by))
            step_id = chosen.next
    raise RuntimeError(f"enrollment {enrollment_id} ran {MAX_STEPS_AT_ONCE} steps without pausing")


def _resume(flow: Flow, position: Position, result: Advance, at: str) -> tuple[str | None, str | None]:
    step = flow.step(position.step)
    if position.state == "delayed":
        assert isinstance(step, Delay)
        result.history.append(_entry(at, step.id, "delay_over"))
        return step.next, position.variant
    if position.state == "waiting":
        assert isinstance(step, WaitForEvent)
        result.history.append(_entry(at, step.id, "timed_out"))
        return step.on_timeout, position.variant
    return position.step, position.variant


def event_arrived(flow: Flow, position: Position, event: str, now: datetime) -> Position | None:
    """A waiting enrollment's position once `event` happened (due now), or None if it was not waited for."""
    if position.state != "waiting":
        return None
    step = flow.step(position.step)
    if not isinstance(step, WaitForEvent) or step.event != event or step.on_event is None:
        return None
    return replace(position, step=step.on_event, state="ready", due_at=now)


def choose_variant(step: Split, enrollment_id: str) -> Any:
    """The variant by weight, fixed by the enrollment's id (a redo picks the same one)."""
    digest = hashlib.sha256(f"{enrollment_id}:{step.id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64 * sum(v.weight for v in step.variants)
    for variant in step.variants:
        point -= variant.weight
        if point < 0:
            return variant
    return step.variants[-1]


def _winner(step: Split, winners: Mapping[str, str] | None) -> Any:
    name = (winners or {}).get(step.id)
    return next((v for v in step.variants if v.name == name), None) if name else None


def offer_code(enrollment_id: str, step_id: str) -> str:
    """A customer's unique code for the offer of one step: stable across a redo, hard to guess."""
    digest = hashlib.sha256(f"offer:{enrollment_id}:{step_id}".encode()).hexdigest().upper()
    return f"{digest[:4]}-{digest[4:8]}-{digest[8:12]}"


def _entry(at: str, step: str, outcome: str, **details: Any) -> dict[str, Any]:
    return {"at": at, "step": step, "outcome": outcome, **details}


def _zone(profile: dict[str, Any] | None) -> ZoneInfo:
    name = ((profile or {}).get("traits") or {}).get("timezone")
    try:
        return ZoneInfo(str(name)) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _clock(hhmm: str) -> time:
    hours, minutes = hhmm.split(":")
    return time(int(hours), int(minutes))


def _next_time(hhmm: str, zone: ZoneInfo, now: datetime) -> datetime:
    """The next moment (after now) the customer's clock shows `hhmm`."""
    local = now.astimezone(zone)
    target = datetime.combine(local.date(), _clock(hhmm), tzinfo=zone)
    if target <= local:
        target = datetime.combine(local.date() + timedelta(days=1), _clock(hhmm), tzinfo=zone)
    return target.astimezone(now.tzinfo)


def _quiet_until(quiet: QuietHours, zone: ZoneInfo, now: datetime) -> datetime | None:
    """When the quiet hours the customer is in end, or None when they are not in them."""
    start, end = _clock(quiet.start), _clock(quiet.end)
    current = now.astimezone(zone).time()
    inside = start <= current < end if start <= end else current >= start or current < end
    return _next_time(quiet.end, zone, now) if inside else None
