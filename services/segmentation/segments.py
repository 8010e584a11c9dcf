"""Segment commands: create, change and delete a segment (each recomputed in full), and preview a rule.

Each command is one transaction under the workspace's advisory lock, so its recompute and the
worker's incremental changes never interleave.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from cdpkit.errors import InvalidInput, NotFound
from schemas.rules import FieldCatalogue, Rule, RuleError, parse_rule
from services.segmentation.adapters.segment_rows import SegmentRow
from services.segmentation.adapters.tables import SCHEMA
from services.segmentation.adapters.unit_of_work import SegmentationUnitOfWork, Stores
from services.segmentation.domain.sql import compile_rule, count_query, member_query
from services.segmentation.messages import membership_message
from services.segmentation.recompute import recompute_segment

CATALOGUE = FieldCatalogue()


def validated(rule: Any) -> Rule:
    """The parsed rule; a 400 naming the path of every bad node otherwise."""
    try:
        return parse_rule(rule, CATALOGUE)
    except RuleError as error:
        raise InvalidInput("the rule is not valid", details=error.errors) from error


@dataclass(frozen=True)
class Saved:
    segment: SegmentRow
    size: int
    entered: int = 0
    exited: int = 0


@dataclass(frozen=True)
class Preview:
    count: int
    sample: list[dict[str, Any]]
    sql: str
    params: list[Any]
    took_ms: float


async def create_segment(
    uow: SegmentationUnitOfWork,
    workspace_id: str,
    *,
    name: str,
    description: str,
    rule: Any,
    tags: Sequence[str],
) -> Saved:
    """Store a new segment and compute its members (each one a `segment.entered`, cause `recompute`)."""
    parsed = validated(rule)
    now = datetime.now(UTC)
    row = SegmentRow(
        workspace_id, f"seg_{uuid.uuid4().hex}", name, description, rule, list(tags), 1, now, now
    )
    async with uow:
        stores = await uow.stores()
        await stores.read_model.lock_workspaces([workspace_id])
        await stores.segments.insert(row)
        changes = await recompute_segment(stores, workspace_id, row.id, name, 1, parsed, "recompute", now)
        size = await stores.memberships.record_size(workspace_id, row.id, now)
        await uow.commit()
    return Saved(row, size, entered=len(changes))


async def update_segment(
    uow: SegmentationUnitOfWork, workspace_id: str, segment_id: str, changes: dict[str, Any]
) -> Saved:
    """Change a segment; a new rule makes a new version, recomputed in full (the diff is published)."""
    parsed = validated(changes["rule"]) if "rule" in changes else None
    now = datetime.now(UTC)
    async with uow:
        stores = await uow.stores()
        row = await _locked(stores, workspace_id, segment_id)
        rule_changed = parsed is not None and changes["rule"] != row.rule
        updated = replace(
            row,
            name=changes.get("name", row.name),
            description=changes.get("description", row.description),
            rule=changes.get("rule", row.rule),
            tags=list(changes.get("tags", row.tags)),
            version=row.version + 1 if rule_changed else row.version,
            updated_at=now,
        )
        await stores.segments.update(updated)
        entered = exited = 0
        if rule_changed:
            assert parsed is not None
            moves = await recompute_segment(
                stores, workspace_id, segment_id, updated.name, updated.version, parsed, "recompute", now
            )
            entered = sum(1 for m in moves if m.change.entered)
            exited = len(moves) - entered
            size = await stores.memberships.record_size(workspace_id, segment_id, now)
        else:
            size = await stores.memberships.size(workspace_id, segment_id)
        await uow.commit()
    return Saved(updated, size, entered, exited)


async def delete_segment(uow: SegmentationUnitOfWork, workspace_id: str, segment_id: str) -> int:
    """Delete a segment: every member exits (cause `deleted`); the number of exits."""
    now = datetime.now(UTC)
    async with uow:
        stores = await uow.stores()
        row = await _locked(stores, workspace_id, segment_id)
        await stores.segments.delete(workspace_id, segment_id, now)
        gone = await stores.memberships.exit_all(workspace_id, segment_id, now)
        await stores.memberships.publish(
            [
                membership_message(
                    workspace_id, row.name, row.version, r.change, "deleted", user_id=r.user_id, email=r.email
                )
                for r in gone
            ]
        )
        await uow.commit()
    return len(gone)


async def _locked(stores: Stores, workspace_id: str, segment_id: str) -> SegmentRow:
    """The segment, row-locked under the workspace's lock; a 404 if there is none."""
    await stores.read_model.lock_workspaces([workspace_id])
    row = await stores.segments.get(workspace_id, segment_id, lock=True)
    if row is None:
        raise NotFound(f"no segment {segment_id!r} in this workspace")
    return row


async def preview(uow: SegmentationUnitOfWork, workspace_id: str, rule: Any, sample_size: int) -> Preview:
    """How many customers the rule selects now, a few of them, and the SQL that selects them."""
    parsed = validated(rule)
    compiled = compile_rule(parsed, SCHEMA)
    members = member_query(compiled, SCHEMA)
    now = datetime.now(UTC)
    started = time.perf_counter()
    async with uow:
        connection = (await uow.stores()).read_model.connection
        count = await connection.fetchval(count_query(compiled, SCHEMA), workspace_id, now, *compiled.params)
        rows = await connection.fetch(
            f"SELECT p.customer_id, p.user_id, p.email, p.lifetime_value, p.orders_count "
            f"FROM {SCHEMA}.profiles p WHERE p.workspace_id = $1 AND p.customer_id IN "
            f"(SELECT customer_id FROM ({members}) m ORDER BY customer_id LIMIT {int(sample_size)}) "
            "ORDER BY p.customer_id",
            workspace_id,
            now,
            *compiled.params,
        )
    took_ms = (time.perf_counter() - started) * 1000
    return Preview(
        int(count or 0), [dict(r) for r in rows], members, list(compiled.params), round(took_ms, 2)
    )
