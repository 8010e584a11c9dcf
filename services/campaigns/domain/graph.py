"""Graph validation on save: every `next` exists, every path ends, no cycle without a delay."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.campaigns.domain.flow import Delay, Exit, Flow, SendEmail, Split, pauses, successors

# Checks a branch rule; returns why it is not valid, or None. Given by the caller (the rule language).
RuleCheck = Callable[[dict[str, Any]], str | None]
# Checks a template's source; returns why it does not compile, or None.
TemplateCheck = Callable[[str], str | None]


@dataclass(frozen=True)
class FlowProblem:
    """One reason a flow cannot be saved, naming the step at fault (None: the flow as a whole)."""

    step: str | None
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "code": self.code, "message": self.message}


def validate_flow(
    flow: Flow, rule_check: RuleCheck | None = None, template_check: TemplateCheck | None = None
) -> list[FlowProblem]:
    """Every problem of the flow's graph and steps; empty when it may be saved."""
    problems: list[FlowProblem] = []
    ids = [step.id for step in flow.steps]
    by_id = {step.id: step for step in flow.steps}
    for step_id in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(FlowProblem(step_id, "duplicate_step", f"step {step_id!r} is defined twice"))
    if flow.entry_step not in by_id:
        problems.append(
            FlowProblem(None, "unknown_entry_step", f"entry_step {flow.entry_step!r} is not a step")
        )
    for step in flow.steps:
        problems += _step_problems(step, by_id, rule_check, template_check)
    problems += _auto_winner_problems(flow)
    if problems:
        return problems
    reachable = _reachable(flow.entry_step, by_id)
    for step in flow.steps:
        if step.id not in reachable:
            problems.append(FlowProblem(step.id, "unreachable", f"step {step.id!r} cannot be reached"))
    problems += _cycles_without_pause(flow.entry_step, by_id)
    return problems


def _step_problems(
    step: Any, by_id: dict[str, Any], rule_check: RuleCheck | None, template_check: TemplateCheck | None
) -> list[FlowProblem]:
    found = []
    for target in successors(step):
        if target is None:
            found.append(
                FlowProblem(step.id, "dead_end", f"step {step.id!r} leads nowhere: end paths with exit")
            )
        elif target not in by_id:
            found.append(
                FlowProblem(step.id, "unknown_next", f"step {step.id!r} leads to unknown {target!r}")
            )
    if isinstance(step, Delay) and (step.seconds is None) == (step.until is None):
        found.append(FlowProblem(step.id, "invalid_delay", "a delay takes exactly one of seconds or until"))
    if isinstance(step, SendEmail):
        if (step.template is None) == (step.template_id is None):
            found.append(
                FlowProblem(
                    step.id, "invalid_template", "send_email takes exactly one of template or template_id"
                )
            )
        elif step.template is not None and template_check is not None:
            for part in (step.template.subject, step.template.html, step.template.text):
                if error := template_check(part):
                    found.append(FlowProblem(step.id, "invalid_template", error))
    if step.type == "branch" and rule_check is not None and (error := rule_check(step.rule)):
        found.append(FlowProblem(step.id, "invalid_rule", error))
    return found


def _auto_winner_problems(flow: Flow) -> list[FlowProblem]:
    """An automatic winner needs sane thresholds and variant names that point at one split only.

    Sends carry the variant's name, not the split's id, so two splits sharing a name would mix
    their figures.
    """
    found = []
    splits = [step for step in flow.steps if isinstance(step, Split)]
    for split in splits:
        rule = split.auto_winner
        if rule is None:
            continue
        names = [v.name for v in split.variants]
        others = {v.name for s in splits if s is not split for v in s.variants}
        if rule.min_per_variant < 10:
            found.append(_winner_problem(split.id, "min_per_variant must be at least 10"))
        if not 0.8 <= rule.confidence <= 0.999:
            found.append(_winner_problem(split.id, "confidence must be between 0.8 and 0.999"))
        if len(set(names)) < len(names):
            found.append(_winner_problem(split.id, "variant names must differ"))
        if shared := sorted(others.intersection(names)):
            found.append(_winner_problem(split.id, f"variant names {shared} are used by another split"))
    return found


def _winner_problem(step_id: str, message: str) -> FlowProblem:
    return FlowProblem(step_id, "invalid_auto_winner", f"split {step_id!r}: {message}")


def _reachable(entry: str, by_id: dict[str, Any]) -> set[str]:
    seen, todo = set(), [entry]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo += [t for t in successors(by_id[current]) if t is not None]
    return seen


def _cycles_without_pause(entry: str, by_id: dict[str, Any]) -> list[FlowProblem]:
    """A cycle of steps none of which waits would run forever in one instant: refuse it.

    Depth-first over the graph with the pausing steps removed: any back edge left is such a cycle.
    Also refuse a step from which no exit can be reached (every path must end).
    """
    problems: list[FlowProblem] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(step_id: str) -> None:
        state[step_id] = 1
        step = by_id[step_id]
        for target in successors(step):
            assert target is not None
            if pauses(by_id[target]) or pauses(step):
                continue
            if state.get(target) == 1:
                problems.append(
                    FlowProblem(target, "cycle_without_delay", f"step {target!r} is on a cycle with no delay")
                )
            elif target not in state:
                visit(target)
        state[step_id] = 2

    for step_id in by_id:
        if step_id not in state:
            visit(step_id)
    ends = _can_end(by_id)
    for step_id in sorted(_reachable(entry, by_id) - ends):
        problems.append(FlowProblem(step_id, "never_ends", f"no path from step {step_id!r} reaches an exit"))
    return problems


def _can_end(by_id: dict[str, Any]) -> set[str]:
    ends = {i for i, s in by_id.items() if isinstance(s, Exit)}
    changed = True
    while changed:
        changed = False
        for step_id, step in by_id.items():
            if step_id not in ends and any(t in ends for t in successors(step)):
                ends.add(step_id)
                changed = True
    return ends
