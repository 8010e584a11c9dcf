"""Generating drafts: the planner without a key, the model with one (one repair round), always logged.

Every generation, whatever its outcome, becomes one row of the generation log with its latency, tokens
and the validation errors met. The count comes from segmentation's preview when it answers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from cdpkit.errors import CdpError
from schemas.ai import CampaignDraft, GenerationKind, OfferDraft, SegmentDraft
from schemas.rules import FieldCatalogue, RuleError, parse_rule
from services.ai.adapters.openai_model import Completion
from services.ai.adapters.platform import Knowledge
from services.ai.domain.drafts import draft_campaign, flow_name, segment_draft, trigger_warnings
from services.ai.domain.flows import EmailPlan, build_flow, inert
from services.ai.domain.generation import Generation, Outcome, Usage
from services.ai.domain.planner import PromptNotUnderstood, plan_segment
from services.ai.domain.proposals import (
    CampaignProposal,
    SegmentProposal,
    check_campaign,
    check_segment,
    repair_message,
    system_prompt,
    unknown_names,
    user_message,
)
from services.ai.errors import InvalidModelOutput, PromptRefused
from services.ai.telemetry import provider_call, record_generation

log = logging.getLogger(__name__)
_OUTCOMES: dict[type[CdpError], Outcome] = {PromptRefused: "refused", InvalidModelOutput: "invalid"}
T = TypeVar("T")
P = TypeVar("P", bound=BaseModel)
PLANNER = "planner"
# A model whose answer is invalid is shown every problem and asked again this many times.
REPAIR_ROUNDS = 1


class Model(Protocol):
    provider: str
    model: str

    async def complete(
        self, messages: list[dict[str, str]], name: str, schema: dict[str, Any]
    ) -> Completion: ...


class PlatformPort(Protocol):
    async def knowledge(self, workspace_id: str) -> Knowledge: ...

    async def count(self, workspace_id: str, rule: dict[str, Any]) -> tuple[int | None, str | None]: ...


class LogPort(Protocol):
    async def add(self, entry: Generation) -> None: ...


@dataclass
class Deps:
    """What a generation needs; `model` is None when no key is configured."""

    platform: PlatformPort
    log: LogPort
    model: Model | None


@dataclass(frozen=True)
class Origin:
    """Where a request came from, for the log."""

    workspace_id: str
    source: str = "http"
    correlation_id: str | None = None


async def _logged(
    deps: Deps, origin: Origin, kind: str, prompt: str, run: Callable[[Generation], Awaitable[T]]
) -> T:
    entry = Generation(
        workspace_id=origin.workspace_id,
        kind=kind,
        prompt=prompt,
        provider=deps.model.provider if deps.model else PLANNER,
        model=deps.model.model if deps.model else None,
        source=origin.source,
        correlation_id=origin.correlation_id,
    )
    started = time.perf_counter()
    try:
        return await run(entry)
    except CdpError as error:
        entry.outcome, entry.error = _OUTCOMES.get(type(error), "error"), error.message
        raise
    except Exception as error:
        entry.outcome, entry.error = "error", repr(error)[:1000]
        raise
    finally:
        entry.latency_ms = round((time.perf_counter() - started) * 1000)
        record_generation(entry)
        try:
            await deps.log.add(entry)
        except Exception:
            log.exception("could not write the generation log")


async def _ask(
    model: Model,
    entry: Generation,
    kind: GenerationKind,
    prompt: str,
    knowledge: Knowledge,
    proposal: type[P],
    check: Callable[[str, FieldCatalogue], tuple[P | None, list[dict[str, Any]]]],
) -> P:
    """The model's valid proposal for the prompt, with one repair round that shows it every problem."""
    usage: Usage = entry.usage
    messages = [
        {"role": "system", "content": system_prompt(kind, knowledge.described, _names(knowledge))},
        {"role": "user", "content": user_message(prompt)},
    ]
    schema = proposal.model_json_schema()
    errors: list[dict[str, Any]] = []
    for _ in range(1 + REPAIR_ROUNDS):
        async with provider_call(model.provider):
            answer = await model.complete(messages, kind, schema)
        usage.add(answer.prompt_tokens, answer.completion_tokens)
        found, errors = check(answer.text, knowledge.catalogue)
        if found is not None:
            return found
        entry.validation_errors += errors
        messages = [
            *messages,
            {"role": "assistant", "content": answer.text[:20000]},
            {"role": "user", "content": repair_message(errors)},
        ]
    raise InvalidModelOutput(
        "the model's answer was not valid, even after a repair round", details=errors[:50]
    )


def _names(knowledge: Knowledge) -> dict[str, Any]:
    context = knowledge.context
    return {
        "categories": context.categories,
        "brands": context.brands,
        "products": [f"{pid}: {name}" for pid, name in context.products],
    }


async def _with_count(
    deps: Deps, workspace_id: str, draft: SegmentDraft, knowledge: Knowledge
) -> SegmentDraft:
    count, why = await deps.platform.count(workspace_id, draft.rule)
    warnings = [*draft.warnings, *unknown_names(draft.rule, knowledge.catalogue), *knowledge.warnings]
    if why:
        warnings.append(why)
    return draft.model_copy(update={"estimated_count": count, "warnings": list(dict.fromkeys(warnings))})


def _from_proposal(proposal: SegmentProposal) -> SegmentDraft:
    return SegmentDraft(
        name=inert(proposal.name),
        description=inert(proposal.description),
        rule=proposal.rule,
        explanation=inert(proposal.explanation),
    )


def planned(prompt: str, knowledge: Knowledge) -> SegmentDraft:
    """The planner's draft, its rule checked like a model's (a value out of range is refused, 400)."""
    try:
        draft = segment_draft(plan_segment(prompt, knowledge.context))
    except PromptNotUnderstood as error:
        raise PromptRefused(str(error)) from error
    _check_planned(draft.rule, knowledge)
    return draft


def _check_planned(rule: dict[str, Any], knowledge: Knowledge) -> None:
    try:
        parse_rule(rule, knowledge.catalogue)
    except RuleError as error:
        raise PromptRefused("the prompt names values the rules cannot hold", details=error.errors) from error


async def generate_segment(prompt: str, origin: Origin, deps: Deps) -> SegmentDraft:
    """A segment draft for the prompt, its rule valid against the workspace's catalogue, with its count."""

    async def run(entry: Generation) -> SegmentDraft:
        knowledge = await deps.platform.knowledge(origin.workspace_id)
        if deps.model is None:
            entry.usage.attempts = 1
            draft = planned(prompt, knowledge)
        else:
            proposal = await _ask(
                deps.model, entry, "segment", prompt, knowledge, SegmentProposal, check_segment
            )
            draft = _from_proposal(proposal)
        return await _with_count(deps, origin.workspace_id, draft, knowledge)

    return await _logged(deps, origin, "segment", prompt, run)


async def generate_campaign(prompt: str, segment_id: str | None, origin: Origin, deps: Deps) -> CampaignDraft:
    """A complete campaign draft: audience (counted), offer, copy, send time and a flow for /api/flows."""

    async def run(entry: Generation) -> CampaignDraft:
        knowledge = await deps.platform.knowledge(origin.workspace_id)
        if deps.model is None:
            entry.usage.attempts = 1
            draft = draft_campaign(prompt, knowledge.context, segment_id)
            _check_planned(draft.segment.rule, knowledge)
        else:
            proposal = await _ask(
                deps.model, entry, "campaign", prompt, knowledge, CampaignProposal, check_campaign
            )
            draft = campaign_from(proposal, segment_id)
        segment = await _with_count(deps, origin.workspace_id, draft.segment, knowledge)
        return draft.model_copy(update={"segment": segment})

    return await _logged(deps, origin, "campaign", prompt, run)


def campaign_from(proposal: CampaignProposal, segment_id: str | None) -> CampaignDraft:
    """A model's campaign as a draft: its copy made inert, its flow built here so it is always valid."""
    segment = _from_proposal(proposal.segment)
    offer = proposal.offer.model_dump(exclude_none=True) if proposal.offer else None
    emails = [EmailPlan(inert(e.subject), inert(e.body), e.wait_days) for e in proposal.emails]
    flow = build_flow(
        flow_name(proposal.goal, segment.name),
        emails,
        offer=offer,
        segment_id=segment_id,
        send_at=proposal.send_time.local_time,
        ends_on_purchase=proposal.goal in ("win_back", "abandoned_cart", "promotion"),
        reentry_days=90 if proposal.goal == "win_back" else None,
    )
    return CampaignDraft(
        segment=segment,
        flow=flow,
        offer=OfferDraft(**offer) if offer else None,
        subject_lines=[inert(s)[:200] for s in proposal.subject_lines],
        preview_text=inert(proposal.preview_text),
        send_time=proposal.send_time.model_copy(update={"reason": inert(proposal.send_time.reason)}),
        content_ideas=[inert(i)[:500] for i in proposal.content_ideas],
        rationale=inert(proposal.rationale),
        warnings=trigger_warnings(segment_id),
    )
