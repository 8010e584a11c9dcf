"""What the segment routes take and return."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.segmentation.adapters.segment_rows import SegmentRow

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
Description = Annotated[str, StringConstraints(max_length=2000, pattern=r"^[^\x00]*$")]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00]*$")]
RULE_DOC = "A rule of the segment language (docs/segments.md), e.g. "
RULE_EXAMPLE = {"all": [{"field": "lifetime_value", "op": "gte", "value": 500}]}


class SegmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description = ""
    rule: dict[str, Any] = Field(description=RULE_DOC, examples=[RULE_EXAMPLE])
    tags: list[Tag] = Field(default_factory=list, max_length=20)


class SegmentUpdate(BaseModel):
    """Only the fields given change; a different rule makes a new version, recomputed in full."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: Description | None = None
    rule: dict[str, Any] | None = Field(default=None, description=RULE_DOC, examples=[RULE_EXAMPLE])
    tags: list[Tag] | None = Field(default=None, max_length=20)


class SegmentPublic(BaseModel):
    id: str
    name: str
    description: str
    rule: dict[str, Any]
    tags: list[str]
    version: int
    size: int = Field(description="Members now.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: SegmentRow, size: int) -> SegmentPublic:
        return cls(
            id=row.id,
            name=row.name,
            description=row.description,
            rule=row.rule,
            tags=row.tags,
            version=row.version,
            size=size,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class PreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: dict[str, Any] = Field(description=RULE_DOC, examples=[RULE_EXAMPLE])


class PreviewPublic(BaseModel):
    count: int
    sample: list[dict[str, Any]]
    sql: str = Field(description="The compiled query: $1 is the workspace, $2 now, the rule's values follow.")
    params: list[Any] = Field(description="The values of $3 onwards.")
    took_ms: float


class MemberPublic(BaseModel):
    customer_id: str
    user_id: str | None
    email: str | None
    entered_at: datetime


class SizePublic(BaseModel):
    at: datetime
    size: int


class FieldPublic(BaseModel):
    name: str
    type: str
    operators: list[str]
    choices: list[str] = Field(default_factory=list)
    description: str | None = None
    examples: list[Any] = Field(default_factory=list, description="Values seen in this workspace.")
    percentiles: dict[str, float] | None = Field(default=None, description="p25, p50, p75, p90 (numbers).")


class EventPublic(BaseModel):
    name: str
    operators: list[str]
    properties: list[dict[str, Any]]


class CataloguePublic(BaseModel):
    fields: list[FieldPublic]
    traits: list[FieldPublic]
    events: list[EventPublic]
