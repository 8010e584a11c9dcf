"""Campaign drafts from playbooks: the audience from the planner, the offer, copy, send time and a flow."""

from __future__ import annotations

from schemas.ai import CampaignDraft, OfferDraft, SegmentDraft, SendTime
from services.ai.domain.describe import describe
from services.ai.domain.entities import PlannerContext
from services.ai.domain.flows import EmailPlan, build_flow
from services.ai.domain.offers import offer_words, read_offer
from services.ai.domain.planner import PromptNotUnderstood, SegmentPlan, plan_segment
from services.ai.domain.playbooks import Playbook, playbook_for


def segment_draft(plan: SegmentPlan) -> SegmentDraft:
    """The planner's plan as a draft (its count is filled in by whoever can ask segmentation)."""
    return SegmentDraft(
        name=plan.name,
        description=_cut(plan.description, 2000),
        rule=plan.rule,
        explanation=_cut(plan.explanation, 4000),
        warnings=list(plan.warnings),
    )


def flow_name(goal: str, segment_name: str) -> str:
    """The flow's name: its goal in words, then its audience."""
    return f"{goal.replace('_', ' ').capitalize()}: {segment_name}"


def trigger_warnings(segment_id: str | None) -> list[str]:
    """A warning while the flow's trigger still holds the placeholder instead of a saved segment's id."""
    return [] if segment_id else ["save the segment first and put its id in the flow's trigger"]


def _cut(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def _audience(prompt: str, playbook: Playbook, context: PlannerContext) -> SegmentDraft:
    try:
        return segment_draft(plan_segment(prompt, context))
    except PromptNotUnderstood:
        rule = {"all": [playbook.audience]}
        return SegmentDraft(
            name=playbook.audience_label.capitalize(),
            description=describe(rule),
            rule=rule,
            explanation=f"no audience in the prompt: this goal's usual one ({playbook.audience_label})",
            warnings=["the prompt named no audience; the goal's usual audience was used"],
        )


def draft_campaign(prompt: str, context: PlannerContext, segment_id: str | None = None) -> CampaignDraft:
    """A complete campaign draft for the prompt, from the playbook its words point at."""
    playbook = playbook_for(prompt)
    reading = read_offer(prompt)
    audience_prompt = prompt if reading is None else prompt[: reading.start] + " " + prompt[reading.end :]
    segment = _audience(audience_prompt, playbook, context)
    offer = playbook.offer if reading is None else reading.offer
    words = offer_words(offer)
    subjects = [s.replace("{offer}", words) for s in playbook.subjects]
    preview = playbook.preview.replace("{offer}", words)
    ideas = list(playbook.ideas)
    waits = (0, *playbook.follow_ups)
    emails = [
        EmailPlan(
            subject=subjects[n],
            body=playbook.bodies[0 if n == 0 else 2 if n == len(waits) - 1 else 1].replace("{offer}", words),
            wait_days=wait,
        )
        for n, wait in enumerate(waits)
    ]
    flow = build_flow(
        flow_name(playbook.goal, segment.name),
        emails,
        offer=offer,
        segment_id=segment_id,
        send_at=None if playbook.goal == "abandoned_cart" else playbook.local_time,
        ends_on_purchase=playbook.ends_on_purchase,
        reentry_days=playbook.reentry_days,
    )
    cadence = ", then ".join(f"after {d} days" for d in playbook.follow_ups)
    rationale = (
        f"{playbook.why} Audience: {segment.description[0].lower()}{segment.description[1:]}. "
        f"Offer: {words}. Cadence: {len(emails)} emails, the first at the send time"
        f"{', then ' + cadence if cadence else ''}."
    )
    return CampaignDraft(
        segment=segment,
        flow=flow,
        offer=None if offer is None else OfferDraft(**offer),
        subject_lines=subjects,
        preview_text=preview[:300],
        send_time=SendTime(
            day_of_week=playbook.day_of_week, local_time=playbook.local_time, reason=playbook.send_reason
        ),
        content_ideas=ideas,
        rationale=rationale,
        warnings=trigger_warnings(segment_id),
    )
