"""The durable scheduler: due enrollments and broadcasts, claimed with SKIP LOCKED, run in one transaction.

A pass claims a batch of due rows, runs each enrollment's steps (pure, `domain.journey`), and writes
the new positions, the `sends` rows and the send events (outbox) in the same transaction. A crash
before the commit leaves the rows due and the outbox empty; the next pass redoes the same work with
the same ids. A crash after it leaves nothing to redo. So nothing is lost and nothing is sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from cdpkit.metrics import SCHEDULER_DUE, SCHEDULER_LATENESS
from services.campaigns.adapters.definitions import flow_of
from services.campaigns.adapters.unit_of_work import CampaignUnitOfWork
from services.campaigns.domain.flow import Flow
from services.campaigns.domain.journey import Advance, Position, RuleEvaluator, advance
from services.campaigns.emit import Emission, email_content, emit_effect, send_request, stable_id

log = logging.getLogger(__name__)
ACTIVE = ("ready", "delayed", "waiting")
SERVICE = "campaigns"


async def run_due(uow: CampaignUnitOfWork, now: datetime, *, limit: int, evaluate: RuleEvaluator) -> int:
    """One pass over due enrollments; how many were run."""
    async with uow:
        journeys, definitions = uow.journeys, uow.definitions
        rows = await journeys.claim_due(now, limit)
        if not rows:
            return 0
        stored = await definitions.flows_by_id({(r["workspace_id"], r["flow_id"]) for r in rows})
        parsed = {key: flow_of(flow) for key, flow in stored.items()}
        winners = await uow.ab_tests.winners(set(stored))
        profiles = await journeys.contacts({(r["workspace_id"], r["customer_id"]) for r in rows})
        templates: dict[tuple[str, str], dict[str, Any] | None] = {}
        out, moves = Emission.empty(), []
        for row in rows:
            workspace_id, enrollment_id = row["workspace_id"], row["enrollment_id"]
            flow = parsed[(workspace_id, row["flow_id"])]
            profile = profiles.get((workspace_id, row["customer_id"]))
            try:
                won = winners.get((workspace_id, row["flow_id"]))
                result = await _advance(uow, flow, row, profile, now, evaluate, won)
                for effect in result.effects:
                    template = None
                    if effect.kind == "email" and (template_id := effect.spec.get("template_id")):
                        if (workspace_id, template_id) not in templates:
                            templates[(workspace_id, template_id)] = await definitions.template(
                                workspace_id, template_id
                            )
                        template = templates[(workspace_id, template_id)]
                    problem = emit_effect(
                        out,
                        effect,
                        workspace_id=workspace_id,
                        flow_id=row["flow_id"],
                        enrollment_id=enrollment_id,
                        customer_id=(profile or {}).get("customer_id", row["customer_id"]),
                        profile=profile,
                        template=template,
                        now=now,
                    )
                    if problem:
                        at = now.isoformat()
                        result.history.append(
                            {"at": at, "step": effect.step, "outcome": "failed", "error": problem}
                        )
            except Exception as error:  # one broken flow or enrollment must not stop the others
                log.exception("enrollment failed", extra={"enrollment_id": enrollment_id})
                result = Advance(
                    Position(row["step_id"], "exited", None, row["variant"]), visits=row["visits"]
                )
                result.history.append(
                    {
                        "at": now.isoformat(),
                        "step": row["step_id"],
                        "outcome": "error",
                        "error": repr(error)[:500],
                    }
                )
            p = result.position
            due = p.due_at if p.state in ACTIVE else None
            moves.append(
                (
                    workspace_id,
                    enrollment_id,
                    p.step,
                    p.state,
                    due,
                    p.variant,
                    result.visits,
                    orjson.dumps(result.history).decode(),
                )
            )
        await journeys.move(moves, now)
        await journeys.add_sends(out.sends)
        await journeys.add_offers(out.offers)
        await uow.publish(out.messages)
        await uow.commit()
    lateness = SCHEDULER_LATENESS.labels(SERVICE)
    for row in rows:
        lateness.observe(max(0.0, (now - row["due_at"]).total_seconds()))
    return len(rows)


async def due_backlog(uow: CampaignUnitOfWork, now: datetime) -> int:
    """Enrollments of active flows that are due and not claimed by a pass in progress."""
    async with uow:
        return await uow.journeys.due_count(now)


async def _advance(
    uow: CampaignUnitOfWork,
    flow: Flow,
    row: dict[str, Any],
    profile: dict[str, Any] | None,
    now: datetime,
    evaluate: RuleEvaluator,
    winners: dict[str, str] | None,
) -> Advance:
    emails = 0
    if flow.frequency_cap is not None:
        since = now - timedelta(seconds=flow.frequency_cap.per_seconds)
        emails = await uow.journeys.emails_since(
            row["workspace_id"], row["customer_id"], row["flow_id"], since
        )
    position = Position(row["step_id"], row["state"], row["due_at"], row["variant"])
    return advance(
        flow,
        position,
        profile,
        now,
        enrollment_id=row["enrollment_id"],
        visits=row["visits"],
        evaluate=evaluate,
        emails_in_window=emails,
        winners=winners,
    )


async def start_broadcasts(uow: CampaignUnitOfWork, now: datetime, *, limit: int = 10) -> int:
    """Send every due broadcast to its segment's members (as campaigns knows them); mark it completed."""
    async with uow:
        due = await uow.definitions.claim_due_broadcasts(now, limit)
        for campaign in due:
            workspace_id, campaign_id = campaign["workspace_id"], campaign["campaign_id"]
            content = campaign["template"]
            marketing = True
            if campaign["template_id"]:
                stored = await uow.definitions.template(workspace_id, campaign["template_id"])
                content, marketing = stored, bool(stored and stored["marketing"])
            out = Emission.empty()
            members = await uow.journeys.members(workspace_id, campaign["segment_id"]) if content else []
            for customer_id in members:
                assert content is not None
                request = send_request(
                    "email",
                    customer_id,
                    campaign_id=campaign_id,
                    content=email_content(content),
                    marketing=marketing,
                )
                out.send(
                    workspace_id, stable_id("send", workspace_id, campaign_id, customer_id), request, now
                )
            await uow.journeys.add_sends(out.sends)
            await uow.publish(out.messages)
            await uow.definitions.update_campaign(
                workspace_id,
                campaign_id,
                {"started_at": now, "completed_at": now, "status": "completed", "recipients": len(members)},
            )
        await uow.commit()
    return len(due)


class Scheduler:
    """Runs passes until stopped: at once while work is due, otherwise every `poll_s`."""

    def __init__(
        self,
        uow: Callable[[], CampaignUnitOfWork],
        *,
        evaluate: RuleEvaluator,
        batch_size: int,
        poll_s: float,
        wake: Callable[[], None],
    ) -> None:
        self.uow, self.evaluate, self.batch_size, self.poll_s = uow, evaluate, batch_size, poll_s
        self.wake_relay = wake
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def wake(self) -> None:
        """New work may be due now (an enrollment was made): run a pass without waiting for the poll."""
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            ran = 0
            try:
                now = datetime.now(UTC)
                ran = await run_due(self.uow(), now, limit=self.batch_size, evaluate=self.evaluate)
                # A short pass took everything due; after a full one, count what is still waiting.
                SCHEDULER_DUE.labels(SERVICE).set(
                    await due_backlog(self.uow(), now) if ran >= self.batch_size else 0
                )
                ran += await start_broadcasts(self.uow(), now)
            except Exception:
                log.exception("scheduler pass failed; retrying")
                await asyncio.sleep(1)
            if ran:
                self.wake_relay()
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
