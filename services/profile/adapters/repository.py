"""SQL reads of profiles and timelines for the API, and the erase. Never commits: the unit of work does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Float, Integer, Numeric, and_, delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from cdpkit.text import unstorable_reason
from services.profile.adapters.batch_store import identity_hash
from services.profile.adapters.codec import load_state
from services.profile.adapters.tables import (
    customers,
    daily_counts,
    events,
    identities,
    score_requests,
    suppressions,
)
from services.profile.domain.profile import CustomerProfile

# Sort keys a client may ask for (prefix `-` for descending); ties are broken by customer_id.
SORTABLE = ("customer_id", "lifetime_value", "orders_count", "last_order_at", "churn_risk", "updated_at")


@dataclass(frozen=True)
class CustomerFilter:
    """What `GET /api/customers` may filter on; None means no filter."""

    text: str | None = None
    rfm_segment: str | None = None
    churn_risk_level: str | None = None
    email_subscribed: bool | None = None
    min_lifetime_value: float | None = None
    max_lifetime_value: float | None = None
    country: str | None = None
    state: str | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        c = customers.c
        found: list[ColumnElement[bool]] = []
        if self.text:
            escaped = self.text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            found.append(c.search_text.like(f"%{escaped}%", escape="\\"))
        for name in ("rfm_segment", "churn_risk_level", "email_subscribed", "country", "state"):
            value = getattr(self, name)
            if value is not None:
                found.append(c[name] == value)
        if self.min_lifetime_value is not None:
            found.append(c.lifetime_value >= self.min_lifetime_value)
        if self.max_lifetime_value is not None:
            found.append(c.lifetime_value <= self.max_lifetime_value)
        return found


@dataclass(frozen=True)
class Erased:
    customer_id: str
    identities: int
    events: int
    daily_counts: int
    user_id: str | None


class SqlProfileRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def customer_id(self, workspace_id: str, ref: str) -> str | None:
        """The customer a reference names: its id, or any of its identities (user id first)."""
        if unstorable_reason(ref) or len(ref) > 320:
            return None  # nothing stored could match it
        row = (
            await self.session.execute(
                select(identities.c.customer_id)
                .where(identities.c.workspace_id == workspace_id, identities.c.value == ref)
                .order_by(identities.c.kind.desc())  # user_id, then email, then anonymous_id
                .limit(1)
            )
        ).scalar()
        if row is not None:
            return str(row)
        exists = (
            await self.session.execute(
                select(customers.c.customer_id).where(
                    customers.c.workspace_id == workspace_id, customers.c.customer_id == ref
                )
            )
        ).scalar()
        return str(exists) if exists is not None else None

    async def get(self, workspace_id: str, ref: str) -> CustomerProfile | None:
        """A customer by id, user id, anonymous id or e-mail."""
        customer_id = await self.customer_id(workspace_id, ref)
        if customer_id is None:
            return None
        query = select(customers.c.doc).where(
            customers.c.workspace_id == workspace_id, customers.c.customer_id == customer_id
        )
        doc = (await self.session.execute(query)).scalar()
        return load_state(doc) if doc is not None else None

    async def search(
        self, workspace_id: str, where: CustomerFilter, sort: str, after: list[Any] | None, limit: int
    ) -> list[tuple[CustomerProfile, Any]]:
        """A page of customers, with each one's sort value (for the cursor)."""
        descending, field = sort.startswith("-"), sort.lstrip("-")
        column = customers.c[field]
        query = select(customers.c.doc, column).where(customers.c.workspace_id == workspace_id)
        query = query.where(*where.clauses())
        if after is not None:
            query = query.where(_after(column, descending, _typed(column, after[0]), str(after[1])))
        order = column.desc().nulls_last() if descending else column.asc().nulls_last()
        if field != "customer_id":
            query = query.order_by(order, customers.c.customer_id)
        else:
            query = query.order_by(order)
        rows = (await self.session.execute(query.limit(limit))).all()
        return [(load_state(row[0]), _plain(row[1])) for row in rows]

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

    async def is_suppressed(self, workspace_id: str, kind: str, value: str) -> bool:
        found = await self.session.execute(
            select(suppressions.c.kind).where(
                suppressions.c.workspace_id == workspace_id,
                suppressions.c.kind == kind,
                suppressions.c.value_hash == identity_hash(value),
            )
        )
        return found.first() is not None

    async def erase(self, workspace_id: str, customer_id: str) -> Erased:
        """Delete the customer and everything kept about it; suppress its identities."""
        locked = await self.session.execute(
            select(customers.c.user_id)
            .where(customers.c.workspace_id == workspace_id, customers.c.customer_id == customer_id)
            .with_for_update()
        )
        user_id = locked.scalar()
        owned = and_(identities.c.workspace_id == workspace_id, identities.c.customer_id == customer_id)
        linked = (
            await self.session.execute(select(identities.c.kind, identities.c.value).where(owned))
        ).all()
        if linked:
            rows = [
                {"workspace_id": workspace_id, "kind": kind, "value_hash": identity_hash(value)}
                for kind, value in linked
            ]
            await self.session.execute(insert(suppressions).values(rows).on_conflict_do_nothing())
        counts = {}
        for name, table in (("identities", identities), ("events", events), ("daily_counts", daily_counts)):
            result = await self.session.execute(
                delete(table).where(table.c.workspace_id == workspace_id, table.c.customer_id == customer_id)
            )
            counts[name] = int(result.rowcount)  # type: ignore[attr-defined]
        await self.session.execute(
            delete(customers).where(
                customers.c.workspace_id == workspace_id, customers.c.customer_id == customer_id
            )
        )
        return Erased(customer_id=customer_id, user_id=user_id, **counts)

    async def request_scores(self, workspace_id: str) -> datetime:
        """Ask the worker to recompute the workspace's scores; when it was asked."""
        statement = (
            insert(score_requests)
            .values(workspace_id=workspace_id)
            .on_conflict_do_update(index_elements=["workspace_id"], set_={"requested_at": func.now()})
            .returning(score_requests.c.requested_at)
        )
        return (await self.session.execute(statement)).scalar_one()


def _after(column: Any, descending: bool, value: Any, customer_id: str) -> ColumnElement[bool]:
    """Keyset condition for rows after (value, customer_id) in `column` order, NULLs last."""
    if column is customers.c.customer_id:
        return column < customer_id if descending else column > customer_id
    tie = customers.c.customer_id > customer_id
    if value is None:
        return and_(column.is_(None), tie)
    beyond = column < value if descending else column > value
    return or_(beyond, and_(column == value, tie), column.is_(None))


def _typed(column: Any, value: Any) -> Any:
    """A cursor's sort value back in the column's type; ValueError when it cannot be."""
    if value is None:
        return None
    if isinstance(column.type, DateTime):
        return datetime.fromisoformat(str(value))
    if isinstance(column.type, Float):
        return float(value)
    if isinstance(column.type, Numeric):
        return Decimal(str(float(value)))
    if isinstance(column.type, Integer):
        return int(value)
    return str(value)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value
