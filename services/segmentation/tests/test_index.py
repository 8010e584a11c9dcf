"""The affected-segments index: a change reaches exactly the segments whose rule reads it."""

from __future__ import annotations

from typing import Any

from schemas.rules import FieldCatalogue, parse_rule
from services.segmentation.domain.index import ActiveSegment, SegmentIndex


def segment(segment_id: str, rule: dict[str, Any]) -> ActiveSegment:
    return ActiveSegment.of(segment_id, "ws", segment_id, 1, parse_rule(rule, FieldCatalogue()))


VALUABLE = segment("valuable", {"field": "lifetime_value", "op": "gte", "value": 500})
VIP = segment("vip", {"field": "traits.vip", "op": "eq", "value": True})
BUYERS = segment("buyers", {"event": "Order Completed", "op": "performed", "within_days": 30})
MIXED = segment(
    "mixed",
    {
        "any": [
            {"field": "state", "op": "eq", "value": "CA"},
            {"not": {"event": "Product Viewed", "op": "count_gte", "value": 3}},
        ]
    },
)
LAPSED = segment("lapsed", {"field": "last_order_at", "op": "not_within_last_days", "value": 60})
TOP = segment("top", {"field": "lifetime_value", "op": "gte", "value": {"percentile": 90}})
INDEX = SegmentIndex.of([VALUABLE, VIP, BUYERS, MIXED, LAPSED, TOP])


def test_a_field_change_reaches_only_the_segments_that_read_the_field() -> None:
    assert INDEX.affected_by_fields(["lifetime_value"]) == {"valuable", "top"}
    assert INDEX.affected_by_fields(["state", "email"]) == {"mixed"}
    assert INDEX.affected_by_fields(["email", "events_count"]) == set()


def test_a_trait_change_reported_as_traits_reaches_every_trait_segment() -> None:
    assert INDEX.affected_by_fields(["traits"]) == {"vip"}
    assert INDEX.affected_by_fields(["traits.vip"]) == {"vip"}
    assert INDEX.affected_by_fields(["traits.other"]) == set()


def test_an_event_reaches_the_segments_that_count_it_even_under_a_not() -> None:
    assert INDEX.affected_by_events(["Order Completed"]) == {"buyers"}
    assert INDEX.affected_by_events(["Product Viewed"]) == {"mixed"}
    assert INDEX.affected_by_events(["Page Viewed"]) == set()


def test_segments_that_change_with_time_or_the_population_are_swept() -> None:
    swept = {s.id for s in INDEX.segments.values() if s.needs_sweep}
    assert swept == {"buyers", "lapsed", "top"}


def test_a_workspace_without_segments_has_nothing_to_evaluate() -> None:
    empty = SegmentIndex.of([])
    assert empty.all() == set()
    assert empty.affected_by_fields(["lifetime_value"]) == set()


def test_only_the_events_of_segments_that_count_events_are_loaded() -> None:
    assert INDEX.events_read_by({"valuable", "vip"}) == set()
    assert INDEX.events_read_by({"valuable", "buyers", "mixed"}) == {"Order Completed", "Product Viewed"}
