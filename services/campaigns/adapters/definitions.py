"""Templates, flows and campaigns as stored: every statement scoped by workspace. Never commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.campaigns.adapters.tables import campaigns, flows, templates
from services.campaigns.domain.flow import Flow

# Parsed flow definitions by (workspace, flow, version, updated_at): every edit bumps the version, so
# a stored row maps to one definition. The intake and the scheduler read a flow per event or enrollment;
# validating its JSON each time was most of their per-event work. Bounded: cleared when full.
_PARSED: dict[tuple[Any, ...], Flow] = {}
_PARSED_MAX = 2048


def flow_of(row: dict[str, Any]) -> Flow:
    """The flow a stored row defines (parsed once per version; Flow is frozen, so sharing it is safe)."""
    key = (row["workspace_id"], row["flow_id"], row["version"], row["updated_at"])
    found = _PARSED.get(key)
    if found is None:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        found = _PARSED[key] = Flow.model_validate(row["definition"])
    return found


class Definitions:
    """What marketers define, read and changed inside the unit of work's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # templates

    async def add_template(self, workspace_id: str, template_id: str, values: dict[str, Any]) -> None:
        await self.session.execute(
            insert(templates).values(workspace_id=workspace_id, template_id=template_id, **values)
        )

    async def template(self, workspace_id: str, template_id: str) -> dict[str, Any] | None:
        row = (
            await self.session.execute(
                select(templates).where(
                    templates.c.workspace_id == workspace_id, templates.c.template_id == template_id
                )
            )
        ).first()
        return dict(row._mapping) if row else None

    async def templates(self, workspace_id: str, after: str | None, limit: int) -> list[dict[str, Any]]:
        query = select(templates).where(templates.c.workspace_id == workspace_id)
        if after:
            query = query.where(templates.c.template_id > after)
        rows = await self.session.execute(query.order_by(templates.c.template_id).limit(limit))
        return [dict(row._mapping) for row in rows]

    async def update_template(self, workspace_id: str, template_id: str, values: dict[str, Any]) -> bool:
        result = await self.session.execute(
            update(templates)
            .where(templates.c.workspace_id == workspace_id, templates.c.template_id == template_id)
            .values(**values, updated_at=func.now())
            .returning(templates.c.template_id)
        )
        return result.first() is not None

    async def delete_template(self, workspace_id: str, template_id: str) -> bool:
        result = await self.session.execute(
            delete(templates)
            .where(templates.c.workspace_id == workspace_id, templates.c.template_id == template_id)
            .returning(templates.c.template_id)
        )
        return result.first() is not None

    # flows

    async def add_flow(self, workspace_id: str, flow_id: str, values: dict[str, Any]) -> None:
        await self.session.execute(insert(flows).values(workspace_id=workspace_id, flow_id=flow_id, **values))

    async def flow(self, workspace_id: str, flow_id: str, *, lock: bool = False) -> dict[str, Any] | None:
        query = select(flows).where(flows.c.workspace_id == workspace_id, flows.c.flow_id == flow_id)
        row = (await self.session.execute(query.with_for_update() if lock else query)).first()
        return dict(row._mapping) if row else None

    async def flows(self, workspace_id: str, after: str | None, limit: int) -> list[dict[str, Any]]:
        query = select(flows).where(flows.c.workspace_id == workspace_id)
        if after:
            query = query.where(flows.c.flow_id > after)
        rows = await self.session.execute(query.order_by(flows.c.flow_id).limit(limit))
        return [dict(row._mapping) for row in rows]

    async def update_flow(self, workspace_id: str, flow_id: str, values: dict[str, Any]) -> None:
        await self.session.execute(
            update(flows)
            .where(flows.c.workspace_id == workspace_id, flows.c.flow_id == flow_id)
            .values(**values, updated_at=func.now())
        )

    async def delete_flow(self, workspace_id: str, flow_id: str) -> bool:
        result = await self.session.execute(
            delete(flows)
            .where(flows.c.workspace_id == workspace_id, flows.c.flow_id == flow_id)
            .returning(flows.c.flow_id)
        )
        return result.first() is not None

    async def active_flows(
        self, workspace_id: str, trigger_type: str, key: str | None
    ) -> list[dict[str, Any]]:
        """Active flows with this trigger (key: the segment id or event name; None: any key)."""
        where = [
            flows.c.workspace_id == workspace_id,
            flows.c.trigger_type == trigger_type,
            flows.c.status == "active",
        ]
        if key is not None:
            where.append(flows.c.trigger_key == key)
        rows = await self.session.execute(select(flows).where(and_(*where)).order_by(flows.c.flow_id))
        return [dict(row._mapping) for row in rows]

    async def flows_by_id(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """Several flows at once, by (workspace, flow id)."""
        if not keys:
            return {}
        rows = await self.session.execute(
            select(flows).where(
                func.row(flows.c.workspace_id, flows.c.flow_id).in_([func.row(w, f) for w, f in keys])
            )
        )
        return {(row.workspace_id, row.flow_id): dict(row._mapping) for row in rows}

    # campaigns

    async def add_campaign(self, workspace_id: str, campaign_id: str, values: dict[str, Any]) -> None:
        await self.session.execute(
            insert(campaigns).values(workspace_id=workspace_id, campaign_id=campaign_id, **values)
        )

    async def campaign(
        self, workspace_id: str, campaign_id: str, *, lock: bool = False
    ) -> dict[str, Any] | None:
        query = select(campaigns).where(
            campaigns.c.workspace_id == workspace_id, campaigns.c.campaign_id == campaign_id
        )
        row = (await self.session.execute(query.with_for_update() if lock else query)).first()
        return dict(row._mapping) if row else None

    async def campaigns(self, workspace_id: str, after: str | None, limit: int) -> list[dict[str, Any]]:
        query = select(campaigns).where(campaigns.c.workspace_id == workspace_id)
        if after:
            query = query.where(campaigns.c.campaign_id > after)
        rows = await self.session.execute(query.order_by(campaigns.c.campaign_id).limit(limit))
        return [dict(row._mapping) for row in rows]

    async def update_campaign(self, workspace_id: str, campaign_id: str, values: dict[str, Any]) -> None:
        await self.session.execute(
            update(campaigns)
            .where(campaigns.c.workspace_id == workspace_id, campaigns.c.campaign_id == campaign_id)
            .values(**values, updated_at=func.now())
        )

    async def claim_due_broadcasts(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        """Active broadcasts whose time has come and that have not started, locked (SKIP LOCKED)."""
        rows = await self.session.execute(
            select(campaigns)
            .where(
                campaigns.c.status == "active",
                campaigns.c.kind == "broadcast",
                campaigns.c.started_at.is_(None),
                func.coalesce(campaigns.c.scheduled_at, now) <= now,
            )
            .order_by(campaigns.c.scheduled_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [dict(row._mapping) for row in rows]
