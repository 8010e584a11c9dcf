"""Flows: CRUD with graph validation on save, activate and pause, enrollments, manual enrollment."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from cdpkit.errors import Conflict, InvalidInput, NotFound
from cdpkit.pagination import Cursor, Limit, Page, id_cursor, page_of
from cdpkit.tenancy import WorkspaceId
from services.campaigns.adapters.unit_of_work import CampaignUnitOfWork
from services.campaigns.domain.flow import EventTrigger, Flow, SegmentEnteredTrigger, SendEmail
from services.campaigns.domain.graph import FlowProblem, validate_flow
from services.campaigns.domain.matching import filter_problem
from services.campaigns.domain.templates import check_template
from services.campaigns.domain.winner import auto_splits, signature
from services.campaigns.entrypoints.deps import ResourceId, Service, new_id
from services.campaigns.entrypoints.metrics import (
    AutoWinnerState,
    Metrics,
    auto_winner_states,
    metrics_of,
)
from services.campaigns.intake import enroll
from services.campaigns.rules import rule_problem

router = APIRouter(prefix="/api/flows", tags=["flows"])
FlowStatus = Literal["draft", "active", "paused"]


class FlowPublic(Flow):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    status: FlowStatus
    version: int
    created_at: datetime
    updated_at: datetime
    auto_winners: list[AutoWinnerState] = Field(
        default_factory=list, description="Each split with auto_winner: its test and decided winner."
    )


class EnrollmentPublic(BaseModel):
    id: str
    customer_id: str
    seq: int = Field(description="Which enrollment of this customer in this flow (re-entry counts up).")
    step: str = Field(description="The step the enrollment is at.")
    state: str = Field(description="ready, delayed, waiting (running), completed or exited.")
    due_at: datetime | None
    variant: str | None
    history: list[dict[str, Any]]
    enrolled_at: datetime
    updated_at: datetime


class ManualEnrollment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_ids: list[str] = Field(min_length=1, max_length=1000)


class Enrolled(BaseModel):
    enrolled: list[str]
    refused: list[str] = Field(description="Refused by the re-entry policy (or already running).")


def _public(row: dict[str, Any], tests: list[dict[str, Any]] | None = None) -> FlowPublic:
    return FlowPublic(
        id=row["flow_id"],
        status=row["status"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        auto_winners=auto_winner_states(tests or []),
        **row["definition"],
    )


async def _full(uow: CampaignUnitOfWork, workspace_id: str, flow_id: str) -> FlowPublic:
    """The flow with its A/B tests."""
    row = await _row(uow, workspace_id, flow_id)
    return _public(row, await uow.ab_tests.of_flow(workspace_id, flow_id))


async def _reset_tests(uow: CampaignUnitOfWork, workspace_id: str, flow_id: str, flow: Flow) -> None:
    """A changed split (or a step after it) is a new test: no winner, counting from now."""
    signatures = {split.id: signature(flow, split.id) for split in auto_splits(flow)}
    await uow.ab_tests.reset(workspace_id, flow_id, signatures, datetime.now(UTC))


async def _validated(flow: Flow, workspace_id: str, uow: CampaignUnitOfWork) -> dict[str, Any]:
    problems = validate_flow(flow, rule_check=rule_problem, template_check=check_template)
    for step in flow.steps:
        template_id = step.template_id if isinstance(step, SendEmail) else None
        if template_id is not None and await uow.definitions.template(workspace_id, template_id) is None:
            problems.append(FlowProblem(step.id, "unknown_template", f"no template {template_id!r}"))
    criteria = [flow.trigger.properties] if isinstance(flow.trigger, EventTrigger) else []
    for filters in criteria + [c.properties for c in flow.exit_when]:
        if problem := filter_problem(filters):
            problems.append(FlowProblem(None, "invalid_filter", problem))
    if problems:
        raise InvalidInput(
            f"the flow is not valid: {problems[0].message}", details=[p.as_dict() for p in problems]
        )
    trigger = flow.trigger
    key = (
        trigger.segment_id
        if isinstance(trigger, SegmentEnteredTrigger)
        else trigger.event
        if isinstance(trigger, EventTrigger)
        else None
    )
    return {
        "name": flow.name,
        "definition": flow.model_dump(mode="json"),
        "trigger_type": trigger.type,
        "trigger_key": key,
    }


async def _row(
    uow: CampaignUnitOfWork, workspace_id: str, flow_id: str, lock: bool = False
) -> dict[str, Any]:
    row = await uow.definitions.flow(workspace_id, flow_id, lock=lock)
    if row is None:
        raise NotFound(f"no flow {flow_id!r} in this workspace")
    return row


@router.post("", status_code=201, response_model=FlowPublic, summary="Create a flow (validated, as a draft)")
async def create_flow(body: Flow, workspace_id: WorkspaceId, service: Service) -> FlowPublic:
    flow_id = new_id()
    async with service.uow() as uow:
        await uow.definitions.add_flow(workspace_id, flow_id, await _validated(body, workspace_id, uow))
        await _reset_tests(uow, workspace_id, flow_id, body)
        await uow.commit()
        return await _full(uow, workspace_id, flow_id)


@router.get("", response_model=Page[FlowPublic], summary="List flows")
async def list_flows(
    workspace_id: WorkspaceId, service: Service, limit: Limit = 50, cursor: Cursor = None
) -> Page[FlowPublic]:
    async with service.uow() as uow:
        rows = await uow.definitions.flows(workspace_id, id_cursor(cursor), limit + 1)
    return page_of([_public(r) for r in rows], limit, lambda f: [f.id])


@router.get("/{flow_id}", response_model=FlowPublic, summary="One flow")
async def get_flow(flow_id: ResourceId, workspace_id: WorkspaceId, service: Service) -> FlowPublic:
    async with service.uow() as uow:
        return await _full(uow, workspace_id, flow_id)


@router.put("/{flow_id}", response_model=FlowPublic, summary="Replace a flow (not while it is active)")
async def update_flow(
    flow_id: ResourceId, body: Flow, workspace_id: WorkspaceId, service: Service
) -> FlowPublic:
    async with service.uow() as uow:
        row = await _row(uow, workspace_id, flow_id, lock=True)
        if row["status"] == "active":
            raise Conflict("pause the flow before changing it")
        values = await _validated(body, workspace_id, uow)
        await uow.definitions.update_flow(workspace_id, flow_id, {**values, "version": row["version"] + 1})
        await _reset_tests(uow, workspace_id, flow_id, body)
        await uow.commit()
        return await _full(uow, workspace_id, flow_id)


@router.delete("/{flow_id}", status_code=204, summary="Delete a flow (not while it is active)")
async def delete_flow(flow_id: ResourceId, workspace_id: WorkspaceId, service: Service) -> Response:
    async with service.uow() as uow:
        row = await _row(uow, workspace_id, flow_id, lock=True)
        if row["status"] == "active":
            raise Conflict("pause the flow before deleting it")
        await uow.definitions.delete_flow(workspace_id, flow_id)
        await uow.ab_tests.reset(workspace_id, flow_id, {}, datetime.now(UTC))
        await uow.commit()
    return Response(status_code=204)


async def set_status(uow: CampaignUnitOfWork, workspace_id: str, flow_id: str, status: FlowStatus) -> None:
    """Activate or pause a flow in the caller's transaction: a paused flow enrolls no one, its steps wait."""
    await _row(uow, workspace_id, flow_id, lock=True)
    await uow.definitions.update_flow(workspace_id, flow_id, {"status": status})


async def _change_status(service: Service, workspace_id: str, flow_id: str, status: FlowStatus) -> FlowPublic:
    async with service.uow() as uow:
        await set_status(uow, workspace_id, flow_id, status)
        await uow.commit()
        return await _full(uow, workspace_id, flow_id)


@router.post("/{flow_id}/activate", response_model=FlowPublic, summary="Activate a flow")
async def activate_flow(flow_id: ResourceId, workspace_id: WorkspaceId, service: Service) -> FlowPublic:
    return await _change_status(service, workspace_id, flow_id, "active")


@router.post("/{flow_id}/pause", response_model=FlowPublic, summary="Pause a flow")
async def pause_flow(flow_id: ResourceId, workspace_id: WorkspaceId, service: Service) -> FlowPublic:
    return await _change_status(service, workspace_id, flow_id, "paused")


@router.get(
    "/{flow_id}/metrics",
    response_model=Metrics,
    summary="Sends, opens, clicks, conversions and redemptions per step and variant",
)
async def flow_metrics(flow_id: ResourceId, workspace_id: WorkspaceId, service: Service) -> Metrics:
    async with service.uow() as uow:
        await _row(uow, workspace_id, flow_id)
        return await metrics_of(uow, workspace_id, "flow_id", flow_id)


@router.get(
    "/{flow_id}/enrollments",
    response_model=Page[EnrollmentPublic],
    summary="The flow's enrollments, each with its position and history",
)
async def list_enrollments(
    flow_id: ResourceId, workspace_id: WorkspaceId, service: Service, limit: Limit = 50, cursor: Cursor = None
) -> Page[EnrollmentPublic]:
    async with service.uow() as uow:
        await _row(uow, workspace_id, flow_id)
        rows = await uow.journeys.enrollments(workspace_id, flow_id, id_cursor(cursor), limit + 1)
    items = [
        EnrollmentPublic(
            id=r["enrollment_id"],
            step=r["step_id"],
            **{
                k: r[k]
                for k in ("customer_id", "seq", "state", "due_at", "variant", "history", "enrolled_at")
            },
            updated_at=r["updated_at"],
        )
        for r in rows
    ]
    return page_of(items, limit, lambda e: [e.id])


@router.post(
    "/{flow_id}/enrollments", response_model=Enrolled, summary="Enroll customers by hand (active flow)"
)
async def enroll_customers(
    flow_id: ResourceId, body: ManualEnrollment, workspace_id: WorkspaceId, service: Service
) -> Enrolled:
    now = datetime.now(UTC)
    enrolled: list[str] = []
    refused: list[str] = []
    async with service.uow() as uow:
        row = await _row(uow, workspace_id, flow_id)
        if row["status"] != "active":
            raise Conflict("activate the flow before enrolling customers")
        for customer_id in dict.fromkeys(body.customer_ids):
            done = await enroll(uow, workspace_id, row, customer_id, now, cause="manual")
            (enrolled if done else refused).append(customer_id)
        await uow.commit()
    return Enrolled(enrolled=enrolled, refused=refused)
