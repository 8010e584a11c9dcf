"""The read model the rules run on: profiles from snapshots, track events, who owns which ids.

Every statement takes a whole batch (unnest arrays), runs on the unit of work's asyncpg connection in
its transaction, and never commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from schemas.profiles import Profile
from services.segmentation.adapters.tables import SCHEMA as S
from services.segmentation.domain.sql import profile_columns

CustomerKey = tuple[str, str]  # (workspace_id, customer_id)
_JSON_TYPES = {"jsonb", "json"}


def _columns() -> list[tuple[str, str]]:
    """(name, SQL type) of the profile columns after workspace_id, customer_id and version."""
    return [(n, t) for n, t in profile_columns() if n not in ("workspace_id", "customer_id", "version")]


_PROFILE_COLUMNS = _columns()
_NAMES = ["workspace_id", "customer_id", "version", *[n for n, _ in _PROFILE_COLUMNS]]
_TYPES = ["text", "text", "integer", *[t for _, t in _PROFILE_COLUMNS]]
_JSON = {n for n, t in _PROFILE_COLUMNS if t in _JSON_TYPES}
_NUMERIC = {n for n, t in _PROFILE_COLUMNS if t in ("bigint", "integer", "double precision", "numeric")}
_UPSERT_PROFILES = (
    f"INSERT INTO {S}.profiles ({', '.join(_NAMES)}) "
    f"SELECT * FROM unnest({', '.join(f'${i + 1}::{t}[]' for i, t in enumerate(_TYPES))}) "
    "ON CONFLICT (workspace_id, customer_id) DO UPDATE SET "
    + ", ".join(f"{n} = EXCLUDED.{n}" for n in _NAMES[2:])
)
_KEYS = "unnest($1::text[], $2::text[]) AS k(w, c)"


@dataclass(frozen=True)
class TrackFact:
    """A track event as the read model keeps it."""

    workspace_id: str
    event_id: str
    name: str
    occurred_at: datetime
    properties: dict[str, Any]
    user_id: str | None
    anonymous_id: str | None


def profile_mapping(profile: Profile) -> dict[str, Any]:
    """The profile as the evaluator reads it: field name to value, traits as a dict."""
    return dict(profile.__dict__)  # pydantic keeps a model's field values here


def row_mapping(row: asyncpg.Record) -> dict[str, Any]:
    """A `profiles` row as the evaluator reads it (JSON columns decoded)."""
    data = dict(row)
    for name in _JSON:
        if isinstance(data.get(name), str):
            data[name] = orjson.loads(data[name])
    return data


# Events that waited for their customer, given it by (workspace, kind, value, customer) arrays.
# `coalesce(...) = ''`, not `IS NULL`: it matches the partial indexes, and the planner cannot take
# it for "no pending events" from stale statistics (migration 0002).
ATTACH_PENDING = {
    kind: f"UPDATE {S}.customer_events e SET customer_id = q.c "
    "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS q(w, k, v, c) "
    f"WHERE q.k = $5 AND coalesce(e.customer_id, '') = '' AND e.workspace_id = q.w AND e.{column} = q.v "
    "RETURNING e.workspace_id, e.customer_id, e.name"
    for kind, column in (("user", "user_id"), ("anon", "anonymous_id"))
}


class ReadModel:
    """Batch reads and writes of the read model inside one transaction."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    async def lock_workspaces(self, workspaces: Iterable[str]) -> None:
        """Serialise with full recomputes of these workspaces' segments (in order: no deadlock)."""
        for workspace in sorted(set(workspaces)):
            await self.connection.execute(
                "SELECT pg_advisory_xact_lock(hashtext('segmentation:' || $1))", workspace
            )

    async def gone(self, keys: Iterable[CustomerKey]) -> set[CustomerKey]:
        """The customers among `keys` that were merged away or erased."""
        wanted = sorted(set(keys))
        if not wanted:
            return set()
        rows = await self.connection.fetch(
            f"SELECT g.workspace_id, g.customer_id FROM {S}.gone g JOIN {_KEYS} "
            "ON g.workspace_id = k.w AND g.customer_id = k.c",
            *_split(wanted, 2),
        )
        return {(r[0], r[1]) for r in rows}

    async def versions(self, keys: Iterable[CustomerKey]) -> dict[CustomerKey, int]:
        """The stored version of each customer that has a profile, row-locked."""
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        rows = await self.connection.fetch(
            f"SELECT p.workspace_id, p.customer_id, p.version FROM {S}.profiles p JOIN {_KEYS} "
            "ON p.workspace_id = k.w AND p.customer_id = k.c ORDER BY 1, 2 FOR UPDATE OF p",
            *_split(wanted, 2),
        )
        return {(r[0], r[1]): r[2] for r in rows}

    async def save_profiles(self, profiles: Sequence[tuple[str, Profile]]) -> None:
        """Insert or replace the profiles (the caller kept only snapshots newer than the stored ones)."""
        if not profiles:
            return
        columns: list[list[Any]] = [[] for _ in _NAMES]
        for workspace_id, profile in profiles:
            values = profile.__dict__
            row = [workspace_id, profile.customer_id, profile.version]
            for name, _ in _PROFILE_COLUMNS:
                value = values.get(name)
                row.append(orjson.dumps(value).decode() if name in _JSON and value is not None else value)
            for column, value in zip(columns, row, strict=True):
                column.append(value)
        await self.connection.execute(_UPSERT_PROFILES, *columns)

    async def link_identities(self, profiles: Sequence[tuple[str, Profile]]) -> list[tuple[str, str, str]]:
        """Record who owns each user/anonymous id; track events waiting for one of them get its owner.

        Returns (workspace_id, customer_id, event name) of every event that found its customer.
        """
        links: dict[tuple[str, str, str], str] = {}
        for workspace_id, profile in profiles:
            if profile.user_id:
                links[(workspace_id, "user", profile.user_id)] = profile.customer_id
            for anonymous_id in profile.anonymous_ids:
                links[(workspace_id, "anon", anonymous_id)] = profile.customer_id
        if not links:
            return []
        keys = sorted(links)
        args = (*_split(keys, 3), [links[k] for k in keys])
        await self.connection.execute(
            f"INSERT INTO {S}.identities (workspace_id, kind, value, customer_id) "
            "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) "
            "ON CONFLICT (workspace_id, kind, value) DO UPDATE SET customer_id = EXCLUDED.customer_id "
            f"WHERE {S}.identities.customer_id <> EXCLUDED.customer_id",
            *args,
        )
        attached: list[tuple[str, str, str]] = []
        for kind, statement in ATTACH_PENDING.items():
            rows = await self.connection.fetch(statement, *args, kind)
            attached += [(r[0], r[1], r[2]) for r in rows]
        return attached

    async def add_events(self, facts: Sequence[TrackFact]) -> list[tuple[str, str, str]]:
        """Store track events, each under its customer when known; (workspace, customer, name) of those."""
        if not facts:
            return []
        wanted = set()
        for fact in facts:
            if fact.user_id:
                wanted.add((fact.workspace_id, "user", fact.user_id))
            if fact.anonymous_id:
                wanted.add((fact.workspace_id, "anon", fact.anonymous_id))
        owners = await self.owners(wanted)
        rows = []
        for fact in facts:
            owner = owners.get((fact.workspace_id, "user", fact.user_id or "")) or owners.get(
                (fact.workspace_id, "anon", fact.anonymous_id or "")
            )
            rows.append(
                (
                    fact.workspace_id,
                    fact.event_id,
                    owner,
                    fact.name,
                    fact.occurred_at,
                    orjson.dumps(fact.properties).decode(),
                    fact.user_id,
                    fact.anonymous_id,
                )
            )
        await self.connection.execute(
            f"INSERT INTO {S}.customer_events (workspace_id, event_id, customer_id, name, occurred_at, "
            "properties, user_id, anonymous_id) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], "
            "$4::text[], $5::timestamptz[], $6::jsonb[], $7::text[], $8::text[]) ON CONFLICT DO NOTHING",
            *_split(rows, 8),
        )
        return [(r[0], r[2], r[3]) for r in rows if r[2] is not None]

    async def owners(self, keys: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str, str], str]:
        """The customer each (workspace, kind, value) identity belongs to, where known."""
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        rows = await self.connection.fetch(
            f"SELECT i.workspace_id, i.kind, i.value, i.customer_id FROM {S}.identities i "
            "JOIN unnest($1::text[], $2::text[], $3::text[]) AS q(w, k, v) "
            "ON i.workspace_id = q.w AND i.kind = q.k AND i.value = q.v",
            *_split(wanted, 3),
        )
        return {(r[0], r[1], r[2]): r[3] for r in rows}

    async def profiles(self, keys: Iterable[CustomerKey]) -> dict[CustomerKey, dict[str, Any]]:
        """The stored profiles of these customers, as the evaluator reads them."""
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        rows = await self.connection.fetch(
            f"SELECT p.* FROM {S}.profiles p JOIN {_KEYS} ON p.workspace_id = k.w AND p.customer_id = k.c",
            *_split(wanted, 2),
        )
        return {(r["workspace_id"], r["customer_id"]): row_mapping(r) for r in rows}

    async def events(
        self, keys: Iterable[CustomerKey], names: Iterable[str]
    ) -> dict[CustomerKey, list[tuple[str, datetime, dict[str, Any]]]]:
        """Each customer's events of these names: (name, occurred_at, properties)."""
        wanted, named = sorted(set(keys)), sorted(set(names))
        found: dict[CustomerKey, list[tuple[str, datetime, dict[str, Any]]]] = {}
        if not wanted or not named:
            return found
        rows = await self.connection.fetch(
            f"SELECT e.workspace_id, e.customer_id, e.name, e.occurred_at, e.properties::text "
            f"FROM {S}.customer_events e JOIN {_KEYS} ON e.workspace_id = k.w AND e.customer_id = k.c "
            "WHERE e.name = ANY($3::text[])",
            *_split(wanted, 2),
            named,
        )
        for w, c, name, at, properties in rows:
            found.setdefault((w, c), []).append((name, at, orjson.loads(properties)))
        return found

    async def percentiles(
        self, workspace_id: str, needed: Iterable[tuple[str, float]]
    ) -> dict[tuple[str, float], float]:
        """The workspace's P-th percentiles of profile columns (a column of no values has none)."""
        by_field: dict[str, list[float]] = {}
        for name, p in sorted(set(needed)):
            if name not in _NUMERIC:
                raise ValueError(f"no numeric profile column {name!r}")
            by_field.setdefault(name, []).append(p)
        found: dict[tuple[str, float], float] = {}
        for name, ps in by_field.items():
            # `name` is one of the table's own columns (checked above), never caller text.
            values = await self.connection.fetchval(
                f"SELECT percentile_cont($2::float8[]) WITHIN GROUP (ORDER BY {name}) "
                f"FROM {S}.profiles WHERE workspace_id = $1",
                workspace_id,
                [p / 100.0 for p in ps],
            )
            for p, value in zip(ps, values or [None] * len(ps), strict=True):
                if value is not None:
                    found[(name, p)] = float(value)
        return found

    async def merge(self, workspace_id: str, survivor_id: str, merged_id: str) -> None:
        """The merged customer's events and ids now belong to the survivor; its profile is gone."""
        for table in ("customer_events", "identities"):
            await self.connection.execute(
                f"UPDATE {S}.{table} SET customer_id = $3 WHERE workspace_id = $1 AND customer_id = $2",
                workspace_id,
                merged_id,
                survivor_id,
            )
        await self._forget_profile(workspace_id, merged_id, "merged")

    async def erase(self, workspace_id: str, customer_id: str) -> None:
        """Forget everything about the customer: profile, events, ids."""
        for table in ("customer_events", "identities"):
            await self.connection.execute(
                f"DELETE FROM {S}.{table} WHERE workspace_id = $1 AND customer_id = $2",
                workspace_id,
                customer_id,
            )
        await self._forget_profile(workspace_id, customer_id, "erased")

    async def _forget_profile(self, workspace_id: str, customer_id: str, reason: str) -> None:
        await self.connection.execute(
            f"DELETE FROM {S}.profiles WHERE workspace_id = $1 AND customer_id = $2",
            workspace_id,
            customer_id,
        )
        await self.connection.execute(
            f"INSERT INTO {S}.gone (workspace_id, customer_id, reason) VALUES ($1, $2, $3) "
            "ON CONFLICT DO NOTHING",
            workspace_id,
            customer_id,
            reason,
        )


def _split(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    return [[row[i] for row in rows] for i in range(width)]
