"""SQL repository of profiles, identities and the timeline. Never commits: the unit of work does."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from schemas.customer_events import CustomerEvent
from services.profile.adapters.tables import customers, events, identities
from services.profile.domain.profile import CustomerProfile

Identity = tuple[str, str]  # (kind, value)


def _to_profile(row: RowMapping) -> CustomerProfile:
    return CustomerProfile(
        workspace_id=row["workspace_id"],
        customer_id=row["customer_id"],
        first_seen_at=row["first_seen_at"],
        last_seen_at=row["last_seen_at"],
        user_id=row["user_id"],
        anonymous_ids=list(row["anonymous_ids"]),
        email=row["email"],
        traits=dict(row["traits"]),
        events_count=row["events_count"],
        version=row["version"],
    )


def _columns(profile: CustomerProfile) -> dict[str, Any]:
    return {
        "user_id": profile.user_id,
        "anonymous_ids": profile.anonymous_ids,
        "email": profile.email,
        "traits": profile.traits,
        "events_count": profile.events_count,
        "first_seen_at": profile.first_seen_at,
        "last_seen_at": profile.last_seen_at,
        "version": profile.version,
    }


class SqlProfileRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find_for_update(self, workspace_id: str, ids: Sequence[Identity]) -> CustomerProfile | None:
        """The customer any of these identities points at, row-locked for the change."""
        if not ids:
            return None
        customer_id = (
            await self.session.execute(
                select(identities.c.customer_id)
                .where(identities.c.workspace_id == workspace_id)
                .where(tuple_(identities.c.kind, identities.c.value).in_(list(ids)))
                .limit(1)
            )
        ).scalar()
        if customer_id is None:
            return None
        row = (
            (
                await self.session.execute(
                    select(customers)
                    .where(customers.c.workspace_id == workspace_id, customers.c.customer_id == customer_id)
                    .with_for_update()
                )
            )
            .mappings()
            .first()
        )
        return _to_profile(row) if row else None

    async def add(self, profile: CustomerProfile) -> None:
        await self.session.execute(
            customers.insert().values(
                workspace_id=profile.workspace_id, customer_id=profile.customer_id, **_columns(profile)
            )
        )

    async def save(self, profile: CustomerProfile) -> None:
        await self.session.execute(
            update(customers)
            .where(
                customers.c.workspace_id == profile.workspace_id,
                customers.c.customer_id == profile.customer_id,
            )
            .values(**_columns(profile), updated_at=func.now())
        )

    async def link(self, workspace_id: str, ids: Sequence[Identity], customer_id: str) -> None:
        """Point these identities at the customer (those already linked stay as they are)."""
        if ids:
            rows = [
                {"workspace_id": workspace_id, "kind": k, "value": v, "customer_id": customer_id}
                for k, v in ids
            ]
            await self.session.execute(insert(identities).values(rows).on_conflict_do_nothing())

    async def record_event(self, event: CustomerEvent, customer_id: str) -> None:
        call = event.payload
        await self.session.execute(
            insert(events)
            .values(
                workspace_id=event.workspace_id,
                event_id=event.event_id,
                customer_id=customer_id,
                type=event.type,
                name=getattr(call, "event", None) or getattr(call, "name", None),
                occurred_at=event.occurred_at,
                received_at=event.received_at,
                payload=call.model_dump(mode="json"),
            )
            .on_conflict_do_nothing()
        )

    async def get(self, workspace_id: str, any_id: str) -> CustomerProfile | None:
        """A customer by user id, anonymous id or customer id."""
        linked = select(identities.c.customer_id).where(
            identities.c.workspace_id == workspace_id, identities.c.value == any_id
        )
        row = (
            (
                await self.session.execute(
                    select(customers)
                    .where(customers.c.workspace_id == workspace_id)
                    .where(or_(customers.c.customer_id == any_id, customers.c.customer_id.in_(linked)))
                    .limit(1)
                )
            )
            .mappings()
            .first()
        )
        return _to_profile(row) if row else None

    async def search(
        self, workspace_id: str, after: str | None, limit: int, text: str | None
    ) -> list[CustomerProfile]:
        query = select(customers).where(customers.c.workspace_id == workspace_id)
        if after:
            query = query.where(customers.c.customer_id > after)
        if text:
            pattern = f"%{text.lower()}%"
            query = query.where(
                or_(
                    customers.c.email.like(pattern),
                    customers.c.user_id.ilike(pattern),
                    customers.c.traits["first_name"].astext.ilike(pattern),
                    customers.c.traits["last_name"].astext.ilike(pattern),
                )
            )
        rows = (await self.session.execute(query.order_by(customers.c.customer_id).limit(limit))).mappings()
        return [_to_profile(row) for row in rows]

    async def timeline(
        self, workspace_id: str, customer_id: str, before: tuple[datetime, str] | None, limit: int
    ) -> list[RowMapping]:
        """Events newest first; `before` is the (occurred_at, event_id) of the last one already seen."""
        query = select(events).where(
            events.c.workspace_id == workspace_id, events.c.customer_id == customer_id
        )
        if before:
            occurred, event_id = before
            query = query.where(
                or_(
                    events.c.occurred_at < occurred,
                    and_(events.c.occurred_at == occurred, events.c.event_id < event_id),
                )
            )
        query = query.order_by(events.c.occurred_at.desc(), events.c.event_id.desc()).limit(limit)
        return list((await self.session.execute(query)).mappings())
