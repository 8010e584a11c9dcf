"""Templates: CRUD and `POST /api/templates/preview` (render with a sample or a given customer)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from cdpkit.errors import InvalidInput, NotFound
from cdpkit.pagination import Cursor, Limit, Page, id_cursor, page_of
from cdpkit.tenancy import WorkspaceId
from cdpkit.text import Text
from services.campaigns.domain.templates import TemplateProblem, check_template, customer_context, render
from services.campaigns.entrypoints.deps import ResourceId, Service, new_id
from services.campaigns.links import unsubscribe_url

router = APIRouter(prefix="/api/templates", tags=["templates"])

SAMPLE_CUSTOMER: dict[str, Any] = {
    "customer_id": "sample",
    "user_id": "sample-user",
    "email": "ann@example.com",
    "first_name": "Ann",
    "last_name": "Lee",
    "city": "Austin",
    "orders_count": 2,
    "lifetime_value": 120.0,
    "traits": {"plan": "pro"},
}


class TemplateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text = Field(min_length=1, max_length=200)
    subject: Text = Field(min_length=1, max_length=1000)
    html: Text = Field(default="", max_length=200_000)
    text: Text = Field(default="", max_length=200_000)
    marketing: bool = Field(default=True, description="Marketing emails carry an unsubscribe link.")


class TemplatePublic(TemplateCreate):
    id: str
    created_at: datetime
    updated_at: datetime


class PreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template_id: str | None = Field(default=None, max_length=64)
    subject: str | None = Field(default=None, max_length=1000)
    html: str = Field(default="", max_length=200_000)
    text: str = Field(default="", max_length=200_000)
    marketing: bool = True
    customer_id: str | None = Field(default=None, max_length=200, description="A customer; else a sample.")
    customer: dict[str, Any] | None = Field(default=None, description="Profile fields to render with.")
    offer: dict[str, Any] | None = None


class Preview(BaseModel):
    subject: str
    html: str
    text: str
    customer: dict[str, Any]


def require_compiles(subject: str, html: str, text: str) -> None:
    """Refuse a template any part of which does not compile, naming each part's problem."""
    parts = {"subject": subject, "html": html, "text": text}
    if problems := {part: p for part, source in parts.items() if (p := check_template(source))}:
        raise InvalidInput("the template does not compile", details=problems)


def _checked(body: TemplateCreate) -> dict[str, Any]:
    require_compiles(body.subject, body.html, body.text)
    return body.model_dump()


def _public(row: dict[str, Any]) -> TemplatePublic:
    return TemplatePublic(
        id=row["template_id"], **{k: row[k] for k in TemplatePublic.model_fields if k != "id"}
    )


@router.post("", status_code=201, response_model=TemplatePublic, summary="Create a template")
async def create_template(
    body: TemplateCreate, workspace_id: WorkspaceId, service: Service
) -> TemplatePublic:
    template_id = new_id()
    async with service.uow() as uow:
        await uow.definitions.add_template(workspace_id, template_id, _checked(body))
        await uow.commit()
        row = await uow.definitions.template(workspace_id, template_id)
    assert row is not None
    return _public(row)


@router.get("", response_model=Page[TemplatePublic], summary="List templates")
async def list_templates(
    workspace_id: WorkspaceId, service: Service, limit: Limit = 50, cursor: Cursor = None
) -> Page[TemplatePublic]:
    async with service.uow() as uow:
        rows = await uow.definitions.templates(workspace_id, id_cursor(cursor), limit + 1)
    return page_of([_public(r) for r in rows], limit, lambda t: [t.id])


@router.get("/{template_id}", response_model=TemplatePublic, summary="One template")
async def get_template(
    template_id: ResourceId, workspace_id: WorkspaceId, service: Service
) -> TemplatePublic:
    async with service.uow() as uow:
        row = await uow.definitions.template(workspace_id, template_id)
    if row is None:
        raise NotFound(f"no template {template_id!r} in this workspace")
    return _public(row)


@router.put("/{template_id}", response_model=TemplatePublic, summary="Replace a template")
async def update_template(
    template_id: ResourceId, body: TemplateCreate, workspace_id: WorkspaceId, service: Service
) -> TemplatePublic:
    async with service.uow() as uow:
        if not await uow.definitions.update_template(workspace_id, template_id, _checked(body)):
            raise NotFound(f"no template {template_id!r} in this workspace")
        await uow.commit()
        row = await uow.definitions.template(workspace_id, template_id)
    assert row is not None
    return _public(row)


@router.delete("/{template_id}", status_code=204, summary="Delete a template")
async def delete_template(template_id: ResourceId, workspace_id: WorkspaceId, service: Service) -> Response:
    async with service.uow() as uow:
        if not await uow.definitions.delete_template(workspace_id, template_id):
            raise NotFound(f"no template {template_id!r} in this workspace")
        await uow.commit()
    return Response(status_code=204)


@router.post("/preview", response_model=Preview, summary="Render a template with a sample or given customer")
async def preview(body: PreviewRequest, workspace_id: WorkspaceId, service: Service) -> Preview:
    async with service.uow() as uow:
        source: dict[str, Any] = {"subject": body.subject, "html": body.html, "text": body.text}
        marketing = body.marketing
        if body.template_id is not None:
            stored = await uow.definitions.template(workspace_id, body.template_id)
            if stored is None:
                raise NotFound(f"no template {body.template_id!r} in this workspace")
            source, marketing = stored, stored["marketing"]
        customer = body.customer or SAMPLE_CUSTOMER
        if body.customer_id is not None:
            found = await uow.journeys.contact(workspace_id, body.customer_id)
            if found is None:
                raise NotFound(f"no customer {body.customer_id!r} known to campaigns in this workspace")
            customer = found
    if not source.get("subject"):
        raise InvalidInput("give a template_id or a subject (and html or text)")
    link = unsubscribe_url(service.settings, workspace_id, str(customer.get("customer_id", "sample")))
    try:
        rendered = render(
            source["subject"],
            source.get("html") or "",
            source.get("text") or "",
            {"customer": customer_context(customer), "offer": body.offer or {"code": "SAMPLE-CODE"}},
            unsubscribe_url=link if marketing else None,
        )
    except TemplateProblem as error:
        raise InvalidInput(str(error)) from error
    return Preview(subject=rendered.subject, html=rendered.html, text=rendered.text, customer=customer)
