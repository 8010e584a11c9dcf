"""Which segments a change can affect: segments indexed by the profile fields and events they read.

A profile change names the fields it changed; a new event names itself. Only the segments whose rule
reads one of those can change their verdict, so only those are evaluated again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from schemas.rules import Rule, events_of, fields_of, is_time_relative, percentiles_of
from schemas.rules.catalogue import TRAIT_PREFIX

TRAITS = "traits"


@dataclass(frozen=True)
class ActiveSegment:
    """A segment the worker evaluates: its rule parsed once, with what the rule reads."""

    id: str
    workspace_id: str
    name: str
    version: int
    rule: Rule
    fields: frozenset[str]
    events: frozenset[str]
    time_relative: bool
    percentiles: frozenset[tuple[str, float]]

    @classmethod
    def of(cls, id: str, workspace_id: str, name: str, version: int, rule: Rule) -> ActiveSegment:
        """The segment with its rule's fields, events, time dependence and percentiles worked out."""
        return cls(
            id=id,
            workspace_id=workspace_id,
            name=name,
            version=version,
            rule=rule,
            fields=frozenset(fields_of(rule)),
            events=frozenset(events_of(rule)),
            time_relative=is_time_relative(rule),
            percentiles=frozenset(percentiles_of(rule)),
        )

    @property
    def needs_sweep(self) -> bool:
        """Its verdict can change with no event: as time passes, or as the population's percentiles move."""
        return self.time_relative or bool(self.percentiles)


@dataclass
class SegmentIndex:
    """One workspace's active segments, looked up by the fields and the event names they read."""

    segments: dict[str, ActiveSegment] = field(default_factory=dict)
    by_field: dict[str, set[str]] = field(default_factory=dict)
    by_event: dict[str, set[str]] = field(default_factory=dict)
    counting: set[str] = field(default_factory=set)  # segments whose rule counts some event

    @classmethod
    def of(cls, segments: Iterable[ActiveSegment]) -> SegmentIndex:
        index = cls()
        for segment in segments:
            index.segments[segment.id] = segment
            for name in segment.fields:
                index.by_field.setdefault(name, set()).add(segment.id)
                if name.startswith(TRAIT_PREFIX):
                    # The profile reports any trait change as `traits`: it must reach these too.
                    index.by_field.setdefault(TRAITS, set()).add(segment.id)
            for event in segment.events:
                index.by_event.setdefault(event, set()).add(segment.id)
            if segment.events:
                index.counting.add(segment.id)
        return index

    def affected_by_fields(self, changed: Iterable[str]) -> set[str]:
        """Segments whose rule reads one of the changed fields (`traits` stands for every trait)."""
        found: set[str] = set()
        for name in changed:
            found |= self.by_field.get(name, set())
        return found

    def affected_by_events(self, names: Iterable[str]) -> set[str]:
        """Segments whose rule counts one of these events."""
        found: set[str] = set()
        for name in names:
            found |= self.by_event.get(name, set())
        return found

    def events_read_by(self, segment_ids: set[str]) -> set[str]:
        """The event names these segments count (what a customer's evaluation must load)."""
        names: set[str] = set()
        for segment_id in segment_ids & self.counting:
            names |= self.segments[segment_id].events
        return names

    def all(self) -> set[str]:
        return set(self.segments)
