"""Contacts, memberships, enrollments (the due-work table), sends and offers. Never commits.

The scheduler claims due enrollments with `FOR UPDATE SKIP LOCKED`, so replicas share the work and
a row is never run by two at once; the claim holds until the unit of work commits or rolls back.
Batch statements take arrays (unnest), one round trip however many rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from cdpkit.db import driver_connection

# A contact by customer id, else by user or anonymous id (the newest such contact): one index
# lookup per kind of id. (One `OR` of the three scanned every contact of the workspace.)
_FIND_CONTACT = (
    "SELECT customer_id FROM ("
    "SELECT customer_id, version, 0 AS rank FROM campaigns.contacts "
    "WHERE workspace_id = $1 AND customer_id = $2 "
    "UNION ALL SELECT customer_id, version, 1 FROM campaigns.contacts "
    "WHERE workspace_id = $1 AND user_id = $2 "
    "UNION ALL SELECT customer_id, version, 1 FROM campaigns.contacts "
    "WHERE workspace_id = $1 AND anonymous_ids ? $2"
    ") AS found ORDER BY rank, version DESC LIMIT 1"
)
_CONTACT_COLUMNS = "SELECT customer_id, user_id, email, profile::text FROM campaigns.contacts "
_CONTACT_BY_ID = _CONTACT_COLUMNS + "WHERE workspace_id = $1 AND customer_id = $2"
_CONTACT_OF = _CONTACT_COLUMNS + f"WHERE workspace_id = $1 AND customer_id = ({_FIND_CONTACT})"
_LOCK_CONTACT = (
    "SELECT customer_id, coalesce(profile, '{}')::text, version FROM campaigns.contacts "
    f"WHERE workspace_id = $1 AND customer_id = ({_FIND_CONTACT}) FOR UPDATE"
)
_DUE = (
    "FROM campaigns.enrollments e "
    "JOIN campaigns.flows f ON f.workspace_id = e.workspace_id AND f.flow_id = e.flow_id "
    "WHERE e.state IN ('ready', 'delayed', 'waiting') AND e.due_at <= $1 AND f.status = 'active'"
)
_CLAIM = (
    "SELECT e.workspace_id, e.enrollment_id, e.flow_id, e.customer_id, e.step_id, e.state, e.due_at, "
    f"e.variant, e.visits {_DUE} ORDER BY e.due_at LIMIT $2 FOR UPDATE OF e SKIP LOCKED"
)
_MOVE = (
    "UPDATE campaigns.enrollments e SET step_id = m.step, state = m.state, due_at = m.due, "
    "variant = m.variant, visits = m.visits, history = e.history || m.history::jsonb, updated_at = $9 "
    "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], "
    "$7::int[], $8::text[]) AS m(w, id, step, state, due, variant, visits, history) "
    "WHERE e.workspace_id = m.w AND e.enrollment_id = m.id"
)


class Journeys:
    """The enrollments and what the scheduler needs around them, in one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._raw: asyncpg.Connection | None = None

    async def db(self) -> asyncpg.Connection:
        """The transaction's asyncpg connection (arrays and JSON without SQLAlchemy's cost)."""
        if self._raw is None or not self._raw.is_in_transaction():
            self._raw = await driver_connection(self.session)
        return self._raw

    # contacts: the read model of profiles

    async def upsert_contacts(
        self, rows: Sequence[tuple[str, str, str | None, str | None, str, str, int]]
    ) -> None:
        """(workspace, customer, user id, email, anonymous ids JSON, profile JSON, version): newer wins."""
        if not rows:
            return
        await (await self.db()).execute(
            "INSERT INTO campaigns.contacts AS c (workspace_id, customer_id, user_id, email, anonymous_ids, "
            "profile, version) SELECT w, id, u, e, a::jsonb, p::jsonb, v FROM unnest($1::text[], $2::text[], "
            "$3::text[], $4::text[], $5::text[], $6::text[], $7::int[]) AS r(w, id, u, e, a, p, v) "
            "ON CONFLICT (workspace_id, customer_id) DO UPDATE SET user_id = EXCLUDED.user_id, "
            "email = EXCLUDED.email, anonymous_ids = EXCLUDED.anonymous_ids, profile = EXCLUDED.profile, "
            "version = EXCLUDED.version, updated_at = now() WHERE c.version < EXCLUDED.version",
            *[list(column) for column in zip(*rows, strict=True)],
        )

    async def forget_contacts(self, keys: Sequence[tuple[str, str]]) -> None:
        """Tombstones and erasures: the customer is gone."""
        if keys:
            await (await self.db()).execute(
                "DELETE FROM campaigns.contacts c USING unnest($1::text[], $2::text[]) AS k(w, id) "
                "WHERE c.workspace_id = k.w AND c.customer_id = k.id",
                [k[0] for k in keys],
                [k[1] for k in keys],
            )

    async def contact(self, workspace_id: str, ref: str) -> dict[str, Any] | None:
        """A contact by customer id, user id or anonymous id: its profile, or None.

        A customer id (what sends carry) wins anyway, so it is looked up alone first: the search of
        all three kinds took ~6 ms a call while snapshots streamed in (27 % of PostgreSQL's time in
        the first-email benchmark, one call per email); by the primary key alone it is no longer
        among the top statements.
        """
        db = await self.db()
        row = await db.fetchrow(_CONTACT_BY_ID, workspace_id, ref) or await db.fetchrow(
            _CONTACT_OF, workspace_id, ref
        )
        return orjson.loads(row[3]) if row else None

    async def contacts(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """Profiles by (workspace, customer ref), the ref matched like `contact`.

        Customer ids in one statement; the few refs that are user or anonymous ids (enrolled by an
        event before the profile's snapshot arrived) one by one.
        """
        wanted = sorted(keys)
        if not wanted:
            return {}
        rows = await (await self.db()).fetch(
            "SELECT c.workspace_id, c.customer_id, c.profile::text FROM campaigns.contacts c "
            "JOIN unnest($1::text[], $2::text[]) AS k(w, id) "
            "ON c.workspace_id = k.w AND c.customer_id = k.id",
            [k[0] for k in wanted],
            [k[1] for k in wanted],
        )
        found = {(row[0], row[1]): orjson.loads(row[2]) for row in rows}
        for workspace_id, ref in wanted:
            if (workspace_id, ref) not in found and (
                profile := await self.contact(workspace_id, ref)
            ) is not None:
                found[(workspace_id, ref)] = profile
        return found

    async def unsubscribe(self, workspace_id: str, ref: str) -> tuple[dict[str, Any], int, bool] | None:
        """Mark the contact unsubscribed at once: (its profile, version, whether it already was), or None.

        The row stays locked until the transaction ends, so two clicks at once change it once. Delivery
        reads `email_subscribed` from this profile, so the next send is suppressed without waiting
        for the profile service's snapshot (which then says the same).
        """
        db = await self.db()
        row = await db.fetchrow(_LOCK_CONTACT, workspace_id, ref)
        if row is None:
            return None
        customer_id, profile, version = row[0], orjson.loads(row[1]), int(row[2] or 0)
        if profile.get("email_subscribed") is False:
            return profile, version, True
        await db.execute(
            "UPDATE campaigns.contacts SET updated_at = now(), "
            "profile = jsonb_set(coalesce(profile, '{}'), '{email_subscribed}', 'false') "
            "WHERE workspace_id = $1 AND customer_id = $2",
            workspace_id,
            customer_id,
        )
        return {**profile, "email_subscribed": False}, version, False

    async def customer_id(self, workspace_id: str, user_id: str | None, anonymous_id: str | None) -> str:
        """The customer behind an event's ids; the event's own key while no snapshot has named them."""
        for ref in (user_id, anonymous_id):
            if ref:
                found = await (await self.db()).fetchval(_FIND_CONTACT, workspace_id, ref)
                if found is not None:
                    return str(found)
        return user_id or anonymous_id or ""

    # memberships: the read model of segments

    async def enter(self, workspace_id: str, segment_id: str, customer_id: str, at: datetime) -> None:
        await (await self.db()).execute(
            "INSERT INTO campaigns.memberships VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            workspace_id,
            segment_id,
            customer_id,
            at,
        )

    async def leave(self, workspace_id: str, segment_id: str, customer_id: str) -> None:
        await (await self.db()).execute(
            "DELETE FROM campaigns.memberships "
            "WHERE workspace_id = $1 AND segment_id = $2 AND customer_id = $3",
            workspace_id,
            segment_id,
            customer_id,
        )

    async def members(self, workspace_id: str, segment_id: str) -> list[str]:
        rows = await (await self.db()).fetch(
            "SELECT customer_id FROM campaigns.memberships WHERE workspace_id = $1 AND segment_id = $2 "
            "ORDER BY customer_id",
            workspace_id,
            segment_id,
        )
        return [row[0] for row in rows]

    # enrollments

    async def enrollment_record(
        self, workspace_id: str, flow_id: str, customer_id: str
    ) -> tuple[list[datetime], bool]:
        """When the customer was enrolled in the flow before, and whether an enrollment still runs."""
        rows = await (await self.db()).fetch(
            "SELECT enrolled_at, state IN ('ready', 'delayed', 'waiting') FROM campaigns.enrollments "
            "WHERE workspace_id = $1 AND flow_id = $2 AND customer_id = $3 FOR UPDATE",
            workspace_id,
            flow_id,
            customer_id,
        )
        return [row[0] for row in rows], any(row[1] for row in rows)

    async def enroll(
        self,
        workspace_id: str,
        flow_id: str,
        customer_id: str,
        seq: int,
        step: str,
        now: datetime,
        cause: str,
    ) -> bool:
        """A new enrollment due now; False when that (flow, customer, seq) already exists."""
        enrollment_id = f"{flow_id}:{customer_id}:{seq}"
        history = orjson.dumps([{"at": now.isoformat(), "step": step, "outcome": "enrolled", "cause": cause}])
        row = await (await self.db()).fetchrow(
            "INSERT INTO campaigns.enrollments (workspace_id, enrollment_id, flow_id, customer_id, seq, "
            "step_id, "
            "state, due_at, history, trigger_event_id, enrolled_at, updated_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, 'ready', $7, $8::jsonb, $9, $7, $7) ON CONFLICT DO NOTHING "
            "RETURNING 1",
            workspace_id,
            enrollment_id,
            flow_id,
            customer_id,
            seq,
            step,
            now,
            history.decode(),
            cause,
        )
        return row is not None

    async def running_for(self, workspace_id: str, customer_refs: Sequence[str]) -> list[dict[str, Any]]:
        """The customer's running enrollments (any of their ids), locked."""
        rows = await (await self.db()).fetch(
            "SELECT enrollment_id, flow_id, customer_id, step_id, state, due_at, variant, visits "
            "FROM campaigns.enrollments WHERE workspace_id = $1 AND customer_id = ANY($2::text[]) "
            "AND state IN ('ready', 'delayed', 'waiting') ORDER BY enrollment_id FOR UPDATE",
            workspace_id,
            list(customer_refs),
        )
        return [dict(row) for row in rows]

    async def claim_due(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        """Due enrollments of active flows, locked for this transaction; others' claims are skipped."""
        return [dict(row) for row in await (await self.db()).fetch(_CLAIM, now, limit)]

    async def due_count(self, now: datetime) -> int:
        """How many enrollments of active flows are due (the scheduler's backlog); takes no lock."""
        found = await (await self.db()).fetchval(f"SELECT count(*) {_DUE}", now)
        return int(found or 0)

    async def move(
        self, moves: Sequence[tuple[str, str, str, str, datetime | None, str | None, int, str]], now: datetime
    ) -> None:
        """(workspace, enrollment, step, state, due, variant, visits, history JSON to append) for each."""
        if moves:
            await (await self.db()).execute(_MOVE, *[list(c) for c in zip(*moves, strict=True)], now)

    async def enrollments(
        self, workspace_id: str, flow_id: str, after: str | None, limit: int
    ) -> list[dict[str, Any]]:
        rows = await (await self.db()).fetch(
            "SELECT enrollment_id, customer_id, seq, step_id, state, due_at, variant, history::text, "
            "enrolled_at, updated_at FROM campaigns.enrollments WHERE workspace_id = $1 AND flow_id = $2 "
            "AND enrollment_id > $3 ORDER BY enrollment_id LIMIT $4",
            workspace_id,
            flow_id,
            after or "",
            limit,
        )
        return [{**dict(row), "history": orjson.loads(row["history"])} for row in rows]

    # sends and offers

    async def emails_since(self, workspace_id: str, customer_id: str, flow_id: str, since: datetime) -> int:
        row = await (await self.db()).fetchrow(
            "SELECT count(*) FROM campaigns.sends WHERE workspace_id = $1 AND customer_id = $2 "
            "AND flow_id = $3 AND channel = 'email' AND created_at >= $4 AND status <> 'suppressed'",
            workspace_id,
            customer_id,
            flow_id,
            since,
        )
        return int(row[0]) if row else 0

    async def add_sends(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """(workspace, send id, channel, customer, flow, campaign, step, variant, created_at)."""
        if rows:
            await (await self.db()).execute(
                "INSERT INTO campaigns.sends (workspace_id, send_id, channel, customer_id, flow_id, "
                "campaign_id, "
                "step_id, variant, created_at) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], "
                "$4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[]) "
                "ON CONFLICT DO NOTHING",
                *[list(c) for c in zip(*rows, strict=True)],
            )

    async def add_offers(
        self, rows: Sequence[tuple[str, str, str, str | None, str | None, str, str]]
    ) -> None:
        """(workspace, code, customer, flow, campaign, step, offer JSON)."""
        if rows:
            await (await self.db()).execute(
                "INSERT INTO campaigns.offers (workspace_id, code, customer_id, flow_id, campaign_id, "
                "step_id, "
                "offer) SELECT w, c, cu, f, ca, s, o::jsonb FROM unnest($1::text[], $2::text[], $3::text[], "
                "$4::text[], $5::text[], $6::text[], $7::text[]) AS r(w, c, cu, f, ca, s, o) "
                "ON CONFLICT DO NOTHING",
                *[list(c) for c in zip(*rows, strict=True)],
            )

    async def send_status(self, workspace_id: str, send_id: str) -> str | None:
        """The send's status (`queued` until delivered or not), None when no row exists."""
        row = await (await self.db()).fetchrow(
            "SELECT status FROM campaigns.sends WHERE workspace_id = $1 AND send_id = $2",
            workspace_id,
            send_id,
        )
        return str(row[0]) if row else None

    async def finish_send(
        self, event: Any, status: str, to: str | None, attempts: int, error: str | None, at: datetime
    ) -> None:
        """Record how a send went (the row is made if the scheduler's is missing)."""
        p = event.payload
        await (await self.db()).execute(
            "INSERT INTO campaigns.sends AS s (workspace_id, send_id, channel, customer_id, flow_id, "
            "campaign_id, "
            "step_id, variant, to_address, status, attempts, error, finished_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
            "ON CONFLICT (workspace_id, send_id) DO UPDATE SET to_address = EXCLUDED.to_address, "
            "status = EXCLUDED.status, attempts = EXCLUDED.attempts, error = EXCLUDED.error, "
            "finished_at = EXCLUDED.finished_at",
            event.workspace_id,
            event.event_id,
            p.channel,
            p.customer_id,
            p.flow_id,
            p.campaign_id,
            p.step_id,
            p.variant,
            to,
            status,
            attempts,
            error,
            at,
        )

    async def send_counts(self, workspace_id: str, column: str, value: str) -> list[dict[str, Any]]:
        """Sends by step, variant and status for one campaign or flow (`column`: campaign_id or flow_id)."""
        assert column in ("campaign_id", "flow_id")
        rows = await (await self.db()).fetch(
            "SELECT coalesce(step_id, '') AS step, coalesce(variant, '') AS variant, status, "
            f"count(*) AS n FROM campaigns.sends WHERE workspace_id = $1 AND {column} = $2 "
            "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
            workspace_id,
            value,
        )
        return [dict(row) for row in rows]

    async def redemptions(self, workspace_id: str, column: str, value: str) -> list[dict[str, Any]]:
        """Redeemed offer codes by step and variant (that of the send that carried the code)."""
        assert column in ("campaign_id", "flow_id")
        rows = await (await self.db()).fetch(
            "SELECT coalesce(o.step_id, '') AS step, coalesce(v.variant, '') AS variant, count(*) AS n, "
            "coalesce(sum(o.revenue), 0)::float AS revenue FROM campaigns.offers o "
            "LEFT JOIN LATERAL (SELECT s.variant FROM campaigns.sends s "
            "WHERE s.workspace_id = o.workspace_id "
            "AND s.customer_id = o.customer_id AND s.step_id = o.step_id "
            "AND s.flow_id IS NOT DISTINCT FROM o.flow_id "
            "AND s.campaign_id IS NOT DISTINCT FROM o.campaign_id "
            "ORDER BY s.created_at DESC LIMIT 1) v ON true "
            f"WHERE o.workspace_id = $1 AND o.{column} = $2 AND o.redeemed_at IS NOT NULL "
            "GROUP BY 1, 2 ORDER BY 1, 2",
            workspace_id,
            value,
        )
        return [dict(row) for row in rows]

    async def redeem(
        self, workspace_id: str, code: str, order_id: str, revenue: float | None, at: datetime
    ) -> bool:
        row = await (await self.db()).fetchrow(
            "UPDATE campaigns.offers SET redeemed_at = $4, order_id = $3, revenue = $5 "
            "WHERE workspace_id = $1 AND upper(code) = upper($2) AND redeemed_at IS NULL RETURNING 1",
            workspace_id,
            code,
            order_id,
            at,
            revenue,
        )
        return row is not None
