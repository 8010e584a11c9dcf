"""The deterministic planner: everyday marketing language → a rule of the segment language, no model needed.

Recognisers (measures, recency, phrases, entities) mark what they understand in the prompt; the longest
reading of each span wins. The words between them say how the conditions combine: "or" groups its
neighbours, a negation cue ("not", "except", "outside", "but not") negates the next one, everything
else is AND. Words left over that are not filler become warnings; a prompt with no condition is refused.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from services.ai.domain.describe import describe
from services.ai.domain.entities import PlannerContext, find_catalog, find_places
from services.ai.domain.found import Found
from services.ai.domain.lexicon import FILLER, NEGATION_CUES, OR_WORDS
from services.ai.domain.measures import find_measures, resolve_pending
from services.ai.domain.phrases import find_phrases
from services.ai.domain.recency import find_recency

MAX_PROMPT_CHARS = 2000


class PromptNotUnderstood(Exception):
    """The prompt holds nothing the planner can turn into a condition."""


@dataclass(frozen=True)
class SegmentPlan:
    """A rule with its name, a one-sentence description, how each phrase was read, and what was not."""

    name: str
    description: str
    rule: dict[str, Any]
    explanation: str
    warnings: tuple[str, ...]


def _lowered(prompt: str) -> str:
    """Lower case with every character keeping its index (so spans map back onto the prompt)."""
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in prompt).replace("\u2019", "'")


def _safely(finder: Iterable[Found]) -> list[Found]:
    """What a recogniser found before a number it cannot hold (the rest becomes a warning)."""
    found: list[Found] = []
    with contextlib.suppress(ValueError, OverflowError):
        found.extend(finder)
    return found


def _candidates(text: str, original: str, context: PlannerContext) -> list[Found]:
    found = [
        *_safely(find_measures(text)),
        *_safely(find_recency(text)),
        *_safely(find_phrases(text)),
        *_safely(find_places(text, original, context)),
        *_safely(find_catalog(text, context)),
    ]
    chosen: list[Found] = []
    # Complete readings first, longest first; bare comparisons only fill what is left.
    for candidate in sorted(found, key=lambda f: (f.pending is not None, -f.length, f.start)):
        if all(candidate.end <= c.start or candidate.start >= c.end for c in chosen):
            chosen.append(candidate)
    return sorted(chosen, key=lambda f: f.start)


def _words(gap: str) -> list[str]:
    return re.findall(r"[\w'\u2019&%$.-]+", gap)


def plan_segment(prompt: str, context: PlannerContext | None = None) -> SegmentPlan:
    """The prompt's rule, or PromptNotUnderstood when no part of it names a condition."""
    context = context or PlannerContext()
    original = prompt[:MAX_PROMPT_CHARS]
    text = _lowered(original)
    chosen = _candidates(text, original, context)
    warnings: list[str] = []
    if len(prompt) > MAX_PROMPT_CHARS:
        warnings.append(f"only the first {MAX_PROMPT_CHARS} characters were read")
    previous_end = 0
    for item in chosen:
        gap = text[previous_end : item.start]
        item.negated = re.search(NEGATION_CUES, gap) is not None
        item.joined_by_or = previous_end > 0 and any(w in OR_WORDS for w in _words(gap))
        leftover = [
            w
            for w in _words(re.sub(NEGATION_CUES, " ", gap))
            if w.strip(".,;:!?-'") and w.lower() not in FILLER
        ]
        if leftover:
            warnings.append(f"did not understand “{' '.join(leftover)}”")
        previous_end = item.end
    tail = [w for w in _words(text[previous_end:]) if w.strip(".,;:!?-'") and w.lower() not in FILLER]
    if tail:
        warnings.append(f"did not understand “{' '.join(tail)}”")
    conditions = _resolve_pending(chosen, warnings)
    if not conditions:
        raise PromptNotUnderstood(
            "could not turn the prompt into any condition; name a measure (LTV over $500), a place "
            "(in Texas), a time (no order in 60 days), a group (high-value, subscribers) or a category"
        )
    conditions = _merge_places(conditions)
    rule = {"all": _combine(conditions)}
    labels = [("not " if f.negated else "") + f.label for f in conditions]
    explanation = "; ".join(
        f"“{original[f.start : f.end].strip()}” → {'not ' if f.negated else ''}{f.label}" for f in conditions
    )
    return SegmentPlan(
        name=_name(labels),
        description=describe(rule),
        rule=rule,
        explanation=explanation,
        warnings=tuple(warnings),
    )


def _resolve_pending(chosen: list[Found], warnings: list[str]) -> list[Found]:
    """Give each bare comparison the measure named before it ("LTV over 500 and under 1.5k")."""
    kept: list[Found] = []
    last_measure: str | None = None
    for item in chosen:
        if item.pending is None:
            last_measure = item.measure or last_measure
            kept.append(item)
            continue
        _, _, money = item.pending
        measure = last_measure or ("lifetime_value" if money else None)
        rule = resolve_pending(item, measure) if measure else None
        if rule is None:
            warnings.append(f"“{item.label}”: compared with what? name a measure, e.g. LTV or orders")
            continue
        item.rule, item.measure = rule, measure
        assert measure is not None
        item.label = f"{measure.replace('_', ' ')} {item.label}"
        kept.append(item)
    return kept


def _merge_places(items: list[Found]) -> list[Found]:
    """Neighbouring places of one kind become one `in` ("Texas, Ohio or Utah"): no one lives in two."""
    merged: list[Found] = []
    for item in items:
        last = merged[-1] if merged else None
        if (
            last is not None
            and item.place is not None
            and last.place is not None
            and last.place[0] == item.place[0]
            and not item.negated
        ):
            values = (*last.place[1], *item.place[1])
            last.place = (last.place[0], values)
            last.label = f"{last.label}/{item.label}"
            last.end = item.end
            continue
        merged.append(item)
    for item in merged:
        if item.place is not None:
            field, values = item.place
            item.rule = {"field": field, "op": "in", "value": list(dict.fromkeys(values))}
    return merged


def _combine(items: list[Found]) -> list[dict[str, Any]]:
    """AND of OR-groups; a negation before a group's first member negates the whole group."""
    groups: list[list[Found]] = []
    for item in items:
        if groups and item.joined_by_or:
            groups[-1].append(item)
        else:
            groups.append([item])
    combined = []
    for group in groups:
        assert all(i.rule is not None for i in group)
        if len(group) == 1:
            rule: dict[str, Any] = group[0].rule  # type: ignore[assignment]
            combined.append({"not": rule} if group[0].negated else rule)
        elif group[0].negated and not any(i.negated for i in group[1:]):
            combined.append({"not": {"any": [i.rule for i in group]}})
        else:
            combined.append({"any": [{"not": i.rule} if i.negated else i.rule for i in group]})
    return combined


def _name(labels: list[str]) -> str:
    text = " · ".join(labels)
    text = text[:1].upper() + text[1:]
    return text if len(text) <= 120 else text[:117].rstrip() + "…"
