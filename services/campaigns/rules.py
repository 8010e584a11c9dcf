"""Branch rules: the segmentation rule language (`schemas.rules`), evaluated on the contact's profile."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

from schemas.rules import FieldCatalogue, RuleError, evaluate, parse_rule
from schemas.rules.model import Rule


@lru_cache(maxsize=1024)
def _parsed(source: bytes) -> Rule:
    return parse_rule(orjson.loads(source), FieldCatalogue())


def rule_problem(rule: dict[str, Any]) -> str | None:
    """Why a branch's rule does not parse, or None."""
    try:
        parse_rule(rule, FieldCatalogue())
    except RuleError as error:
        return str(error)
    return None


def holds(rule: dict[str, Any], profile: dict[str, Any]) -> bool:
    """Whether the profile satisfies the rule now (event conditions see no events: campaigns keeps none)."""
    parsed = _parsed(orjson.dumps(rule, option=orjson.OPT_SORT_KEYS))
    return evaluate(parsed, profile, [], datetime.now(UTC), {})
