"""What a recogniser found in a prompt: the span it read and the condition it means."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Found:
    """A span of the prompt and its condition; `pending` ones name a comparison still lacking its measure."""

    start: int
    end: int
    rule: dict[str, Any] | None
    label: str
    # Places: the field and values, so "Texas or Ohio" can become one `in`.
    place: tuple[str, tuple[str, ...]] | None = None
    # A bare comparison ("under 1.5k"): its operator, value and whether it was money.
    pending: tuple[str, Any, bool] | None = None
    measure: str | None = None
    negated: bool = False
    joined_by_or: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def length(self) -> int:
        return self.end - self.start


def condition(field_name: str, op: str, value: Any = None) -> dict[str, Any]:
    """A field condition's JSON."""
    return (
        {"field": field_name, "op": op, "value": value}
        if value is not None
        else {"field": field_name, "op": op}
    )


def percentile(p: float) -> dict[str, float]:
    """The JSON of a percentile value."""
    return {"percentile": p}
