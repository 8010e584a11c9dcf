"""The field catalogue a rule is validated against: profile fields, traits, events and their properties.

Profile fields come from `schemas.profiles.Profile`. Traits and event properties are JSON: the service
tells the catalogue which ones it has seen (and of which JSON type) from its read model.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, get_args, get_origin

from schemas.profiles import Profile

FieldType = Literal["text", "number", "integer", "boolean", "datetime", "any"]
JsonType = Literal["text", "number", "boolean", "any"]

TRAIT_PREFIX = "traits."
# Internal bookkeeping, not something a marketer segments on.
HIDDEN_FIELDS = frozenset({"version"})

_TEXT_OPS = ("eq", "neq", "in", "not_in", "contains", "not_contains", "starts_with", "ends_with")
_NUMBER_OPS = ("eq", "neq", "gt", "gte", "lt", "lte", "between", "in", "not_in")
_DATE_OPS = ("before", "after", "between", "within_last_days", "not_within_last_days")
_PRESENCE_OPS = ("exists", "not_exists")

OPERATORS: Mapping[FieldType, tuple[str, ...]] = {
    "text": (*_TEXT_OPS, *_PRESENCE_OPS),
    "number": (*_NUMBER_OPS, *_PRESENCE_OPS),
    "integer": (*_NUMBER_OPS, *_PRESENCE_OPS),
    "boolean": ("eq", "neq", *_PRESENCE_OPS),
    "datetime": (*_DATE_OPS, *_PRESENCE_OPS),
    # A JSON value of unknown type: the condition's value decides how it compares (docs/segments.md).
    "any": (*dict.fromkeys((*_NUMBER_OPS, *_TEXT_OPS)), *_PRESENCE_OPS),
}
ALL_OPERATORS = frozenset(op for ops in OPERATORS.values() for op in ops)
EVENT_OPERATORS = ("performed", "not_performed", "count_gte", "count_lte", "count_eq")

_SCALARS: Mapping[type, FieldType] = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "text",
    datetime: "datetime",
}


@dataclass(frozen=True)
class FieldSpec:
    """One field a rule can name: its type, the operators it allows, the values it can hold."""

    name: str
    type: FieldType
    choices: tuple[str, ...] = ()
    description: str | None = None

    @property
    def operators(self) -> tuple[str, ...]:
        """The operators allowed on this field."""
        return OPERATORS[self.type]

    @property
    def is_trait(self) -> bool:
        """Whether the field is a trait (JSON, in the trait bag) rather than a profile column."""
        return self.name.startswith(TRAIT_PREFIX)


def scalar_type(annotation: Any) -> tuple[FieldType, tuple[str, ...]] | None:
    """The rule type and choices of a Profile annotation (`str | None`, `Literal[...]`), or None."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    origin = get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return scalar_type(args[0]) if len(args) == 1 else None
    if origin is Literal:
        return "text", tuple(str(a) for a in args)
    if annotation in _SCALARS:
        return _SCALARS[annotation], ()
    return None


def profile_fields() -> dict[str, FieldSpec]:
    """Every scalar field of `Profile` with its rule type, in the model's order."""
    found = {}
    for name, info in Profile.model_fields.items():
        scalar = scalar_type(info.annotation)
        if scalar is not None and name not in HIDDEN_FIELDS:
            found[name] = FieldSpec(name, scalar[0], scalar[1], info.description)
    return found


def json_type_of(values: Iterable[Any]) -> JsonType:
    """The JSON type a trait or property's observed values share ("any" when they disagree)."""
    seen: set[JsonType] = set()
    for value in values:
        if isinstance(value, bool):
            seen.add("boolean")
        elif isinstance(value, int | float):
            seen.add("number")
        elif isinstance(value, str):
            seen.add("text")
        elif value is not None:
            seen.add("any")
    return seen.pop() if len(seen) == 1 else "any"


def _json_type(kind: str) -> JsonType:
    """A declared trait or property type, narrowed to the JSON comparisons the rules support."""
    if kind in ("number", "integer"):
        return "number"
    if kind in ("text", "boolean"):
        return typing.cast(JsonType, kind)
    return "any"


@dataclass(frozen=True)
class FieldCatalogue:
    """What a workspace's rules may name. Unknown traits, events and properties are allowed, typed "any"."""

    fields: Mapping[str, FieldSpec] = field(default_factory=profile_fields)
    traits: Mapping[str, JsonType] = field(default_factory=dict)
    events: Mapping[str, Mapping[str, JsonType]] = field(default_factory=dict)

    def with_traits(self, traits: Mapping[str, str]) -> FieldCatalogue:
        """A copy that knows these traits (name → "text" | "number" | "boolean" | "any")."""
        known = {**self.traits, **{name: _json_type(kind) for name, kind in traits.items()}}
        return replace(self, traits=known)

    def with_events(self, events: Mapping[str, Mapping[str, str]] | Iterable[str]) -> FieldCatalogue:
        """A copy that knows these events, with their properties' types when given."""
        given = events if isinstance(events, Mapping) else {name: {} for name in events}
        known = {**self.events}
        for name, properties in given.items():
            known[name] = {**known.get(name, {}), **{p: _json_type(k) for p, k in properties.items()}}
        return replace(self, events=known)

    def field(self, name: str) -> FieldSpec | None:
        """The spec of a profile field or `traits.<name>`; None for an unknown profile field."""
        if name.startswith(TRAIT_PREFIX):
            trait = name[len(TRAIT_PREFIX) :]
            return FieldSpec(name, self.traits.get(trait, "any")) if trait else None
        return self.fields.get(name)

    def property_type(self, event: str, name: str) -> JsonType:
        """The JSON type of an event's property ("any" when unknown)."""
        return self.events.get(event, {}).get(name, "any")

    def describe(self) -> dict[str, Any]:
        """The catalogue as JSON: fields with types and operators, traits, events with properties."""
        return {
            "fields": [
                {
                    "name": spec.name,
                    "type": spec.type,
                    "operators": list(spec.operators),
                    "choices": list(spec.choices),
                    "description": spec.description,
                }
                for spec in self.fields.values()
            ],
            "traits": [
                {"name": TRAIT_PREFIX + name, "type": kind, "operators": list(OPERATORS[kind])}
                for name, kind in sorted(self.traits.items())
            ],
            "events": [
                {
                    "name": name,
                    "operators": list(EVENT_OPERATORS),
                    "properties": [
                        {"name": p, "type": kind, "operators": list(OPERATORS[kind])}
                        for p, kind in sorted(properties.items())
                    ],
                }
                for name, properties in sorted(self.events.items())
            ],
        }
