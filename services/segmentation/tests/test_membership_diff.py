"""The membership diff: entries and exits with sequence numbers that never repeat an event id."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.segments import membership_event_id
from services.segmentation.domain.membership import Change, Stored, apply, diff, exits

AT = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def test_a_customer_who_now_matches_enters_with_seq_one() -> None:
    assert diff("c1", {}, {"s1": True, "s2": False}, AT) == [Change("s1", "c1", True, 1, AT)]


def test_a_verdict_that_agrees_with_the_stored_membership_changes_nothing() -> None:
    stored = {"s1": Stored(1, True), "s2": Stored(3, False)}
    assert diff("c1", stored, {"s1": True, "s2": False}, AT) == []


def test_a_member_who_no_longer_matches_exits_with_the_seq_of_its_entry() -> None:
    assert diff("c1", {"s1": Stored(2, True)}, {"s1": False}, AT) == [Change("s1", "c1", False, 2, AT)]


def test_re_entering_after_an_exit_counts_on_so_event_ids_never_repeat() -> None:
    stored: dict[str, Stored] = {}
    ids = []
    for verdict in (True, False, True, False, True):
        changes = diff("c1", stored, {"s1": verdict}, AT)
        apply(stored, changes)
        ids += [
            membership_event_id(
                "ws", c.segment_id, c.customer_id, "entered" if c.entered else "exited", c.seq
            )
            for c in changes
        ]
    assert len(ids) == 5 and len(set(ids)) == 5
    assert stored == {"s1": Stored(3, True)}


def test_segments_not_evaluated_are_left_alone() -> None:
    stored = {"s1": Stored(1, True), "s2": Stored(1, True)}
    assert diff("c1", stored, {"s2": False}, AT) == [Change("s2", "c1", False, 1, AT)]


def test_a_customer_who_is_gone_exits_every_active_membership_only() -> None:
    stored = {"s1": Stored(1, True), "s2": Stored(4, False), "s3": Stored(2, True)}
    assert exits("c1", stored, AT) == [Change("s1", "c1", False, 1, AT), Change("s3", "c1", False, 2, AT)]
