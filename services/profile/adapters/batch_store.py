"""The worker's batch writes: every statement takes the whole batch (arrays, COPY), never one row.

Runs inside the unit of work's transaction on its asyncpg connection. Never commits.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg
import orjson
from sqlalchemy import BigInteger, Boolean, DateTime, Float, Integer, Numeric, SmallInteger
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from cdpkit.db import driver_connection
from cdpkit.inbox import first_deliveries
from cdpkit.outbox import OutboxMessage, encode_headers
from schemas.profiles import Profile
from services.profile.adapters.codec import columns_of, dump_state, load_state
from services.profile.adapters.orders_store import record_changes
from services.profile.adapters.profile_cache import ProfileCache
from services.profile.adapters.tables import CONTRACT_COLUMNS, inbox, outbox
from services.profile.domain.profile import CustomerProfile
from services.profile.folding import CountKey, CustomerKey, LinkKey


def _pg_type(column_type: object) -> str:
    """The PostgreSQL array element type a column's values are sent as."""
    for kind, name in (
        (Boolean, "boolean"),
        (Float, "double precision"),
        (Numeric, "numeric"),
        (BigInteger, "bigint"),
        (SmallInteger, "smallint"),
        (Integer, "integer"),
        (DateTime, "timestamptz"),
        (JSONB, "jsonb"),
    ):
        if isinstance(column_type, kind):
            return name
    return "text"


_COLUMNS = [(c.name, _pg_type(c.type)) for c in CONTRACT_COLUMNS]


class IdentityRace(Exception):
    """Another transaction linked one of the batch's new identities first: retry the batch."""


class StaleIdentity(Exception):
    """An identity points at a customer that is gone (erased meanwhile): retry the batch."""


def identity_hash(value: str) -> str:
    """What the suppression list keeps of an erased identity."""
    return hashlib.sha256(value.encode()).hexdigest()


def _upsert_customers_sql() -> str:
    names = ["workspace_id", "customer_id", "version", "doc", *[n for n, _ in _COLUMNS], "created_at"]
    types = ["text", "text", "integer", "jsonb", *[t for _, t in _COLUMNS], "timestamptz"]
    arrays = ", ".join(f"${i + 1}::{t}[]" for i, t in enumerate(types))
    updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in names[2:-1])
    return (
        f"INSERT INTO profile.customers ({', '.join(names)}) "
        f"SELECT {', '.join(names[:-1])}, coalesce(created_at, now()) "
        f"FROM unnest({arrays}) AS r({', '.join(names)}) "
        f"ON CONFLICT (workspace_id, customer_id) DO UPDATE SET {updates}, updated_at = now()"
    )


_UPSERT_CUSTOMERS = _upsert_customers_sql()
# The doc only where the row is not at the version the caller has cached (NULL: no cached copy).
_LOCK_DOCS = (
    "SELECT c.workspace_id, c.customer_id, CASE WHEN c.version = q.v THEN NULL ELSE c.doc::text END "
    "FROM profile.customers c JOIN unnest($1::text[], $2::text[], $3::integer[]) AS q(w, id, v) "
    "ON c.workspace_id = q.w AND c.customer_id = q.id "
    "ORDER BY c.workspace_id, c.customer_id FOR UPDATE OF c"
)
_INSERT_COUNTS = (
    "INSERT INTO profile.daily_counts AS d (workspace_id, customer_id, name, day, prop, value, count)"
)
_EVENT_COLUMNS = [
    "workspace_id",
    "event_id",
    "customer_id",
    "type",
    "name",
    "occurred_at",
    "received_at",
    "payload",
]


class BatchStore:
    """Batch reads and writes of the profile tables inside one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._raw: asyncpg.Connection | None = None

    async def _connection(self) -> asyncpg.Connection:
        if self._raw is None or not self._raw.is_in_transaction():
            self._raw = await driver_connection(self.session)
        return self._raw

    async def first_deliveries(self, consumer: str, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Record the events in the inbox; those not recorded before (see `cdpkit.inbox`).

        Through the session: being the batch's first statement, it also begins the transaction, so the
        raw statements after it need no `SELECT 1` to start one.
        """
        return await first_deliveries(self.session, inbox, consumer, keys)

    async def suppressed(self, links: Iterable[LinkKey]) -> set[LinkKey]:
        """The identities among `links` that belong to erased customers."""
        by_hash = {(w, k, identity_hash(v)): (w, k, v) for w, k, v in links}
        if not by_hash:
            return set()
        rows = await (await self._connection()).fetch(
            "SELECT s.workspace_id, s.kind, s.value_hash FROM profile.suppressions s "
            "JOIN unnest($1::text[], $2::text[], $3::text[]) AS q(w, k, h) "
            "ON s.workspace_id = q.w AND s.kind = q.k AND s.value_hash = q.h",
            *_columns(list(by_hash), 3),
        )
        return {by_hash[(r[0], r[1], r[2])] for r in rows}

    async def links(self, keys: Iterable[LinkKey]) -> dict[LinkKey, str]:
        """Which customer each identity points at (unknown identities are left out)."""
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        rows = await (await self._connection()).fetch(
            "SELECT i.workspace_id, i.kind, i.value, i.customer_id FROM profile.identities i "
            "JOIN unnest($1::text[], $2::text[], $3::text[]) AS q(w, k, v) "
            "ON i.workspace_id = q.w AND i.kind = q.k AND i.value = q.v",
            *_columns(wanted, 3),
        )
        return {(r[0], r[1], r[2]): r[3] for r in rows}

    async def lock_profiles(
        self, keys: Iterable[CustomerKey], *, missing_ok: bool = False, cache: ProfileCache | None = None
    ) -> dict[CustomerKey, CustomerProfile]:
        """The customers' profiles, row-locked in key order (so concurrent batches cannot deadlock)."""
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        cached = cache.peek(wanted) if cache is not None else {}
        versions = [cached[key].version if key in cached else None for key in wanted]
        rows = await (await self._connection()).fetch(_LOCK_DOCS, *_columns(wanted, 2), versions)
        found: dict[CustomerKey, CustomerProfile] = {}
        for workspace, customer, doc in rows:
            key = (workspace, customer)
            found[key] = cached[key] if doc is None else load_state(doc)  # None: the cached version
        if cache is not None:
            cache.touch(key for key in cached if key in found and found[key] is cached[key])
        if len(found) != len(wanted) and not missing_ok:
            raise StaleIdentity(f"{len(wanted) - len(found)} linked customers are gone")
        return found

    async def add_links(self, links: dict[LinkKey, str]) -> None:
        """Link new identities; `IdentityRace` if another transaction linked one of them first."""
        if not links:
            return
        keys = sorted(links)
        inserted = await (await self._connection()).fetch(
            "INSERT INTO profile.identities (workspace_id, kind, value, customer_id) "
            "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) "
            "ON CONFLICT DO NOTHING RETURNING 1",
            *_columns(keys, 3),
            [links[k] for k in keys],
        )
        if len(inserted) != len(keys):
            raise IdentityRace(f"{len(keys) - len(inserted)} identities were linked concurrently")

    async def move_customers(self, moves: dict[CustomerKey, str]) -> None:
        """Give each merged customer's identities, timeline and counts to its survivor; delete it."""
        if not moves:
            return
        keys = sorted(moves)
        args = (*_columns(keys, 2), [moves[k] for k in keys])
        join = "unnest($1::text[], $2::text[], $3::text[]) AS m(w, merged, survivor)"
        connection = await self._connection()
        for table in ("identities", "events"):
            await connection.execute(
                f"UPDATE profile.{table} t SET customer_id = m.survivor FROM {join} "
                "WHERE t.workspace_id = m.w AND t.customer_id = m.merged",
                *args,
            )
        await connection.execute(
            f"{_INSERT_COUNTS} "
            "SELECT m.w, m.survivor, d.name, d.day, d.prop, d.value, sum(d.count) "
            "FROM profile.daily_counts d "
            f"JOIN {join} ON d.workspace_id = m.w AND d.customer_id = m.merged "
            "GROUP BY m.w, m.survivor, d.name, d.day, d.prop, d.value "
            "ON CONFLICT (workspace_id, customer_id, name, day, prop, value) "
            "DO UPDATE SET count = d.count + EXCLUDED.count",
            *args,
        )
        for table in ("daily_counts", "customers"):
            await connection.execute(
                f"DELETE FROM profile.{table} t USING {join} "
                "WHERE t.workspace_id = m.w AND t.customer_id = m.merged",
                *args,
            )

    async def save_profiles(self, profiles: Sequence[tuple[CustomerProfile, Profile]]) -> None:
        """Insert or update the profiles: state, version and the contract view's fields as columns."""
        if not profiles:
            return
        columns: list[list[Any]] = [[] for _ in range(4 + len(_COLUMNS) + 1)]
        for profile, view in profiles:
            row = [profile.workspace_id, profile.customer_id, profile.version, dump_state(profile)]
            row += columns_of(view)
            row.append(getattr(view, "created_at", None))
            for column, value in zip(columns, row, strict=True):
                column.append(value)
        await (await self._connection()).execute(_UPSERT_CUSTOMERS, *columns)

    async def record_analytics(
        self, profiles: Sequence[CustomerProfile], removed: Sequence[CustomerKey] = ()
    ) -> None:
        """Keep the orders read model and the analytics rollups in step, in this transaction."""
        await record_changes(self.session, profiles, removed)

    async def add_events(self, rows: list[tuple[Any, ...]]) -> None:
        """Timeline rows, as tuples in the order of `_EVENT_COLUMNS`."""
        if rows:
            await (await self._connection()).copy_records_to_table(
                "events",
                schema_name="profile",
                records=rows,
                columns=_EVENT_COLUMNS,
            )

    async def add_counts(self, counts: Counter[CountKey]) -> None:
        if not counts:
            return
        keys = sorted(counts)
        await (await self._connection()).execute(
            f"{_INSERT_COUNTS} SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::date[], "
            "$5::text[], $6::text[], $7::integer[]) "
            "ON CONFLICT (workspace_id, customer_id, name, day, prop, value) "
            "DO UPDATE SET count = d.count + EXCLUDED.count",
            *_columns(keys, 6),
            [counts[k] for k in keys],
        )

    async def publish(self, messages: list[OutboxMessage]) -> None:
        """Outbox rows, in order."""
        if messages:
            await (await self._connection()).copy_records_to_table(
                outbox.name,
                schema_name="profile",
                records=[(t, k, v, orjson.dumps(encode_headers(h)).decode()) for t, k, v, h in messages],
                columns=["topic", "key", "value", "headers"],
            )


def _columns(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    return [[row[i] for row in rows] for i in range(width)]
