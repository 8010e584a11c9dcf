"""Topic family `cdp.ai`: generation requests and their answers, and the drafts the AI service returns.

Any service may publish an `ai.requested` on `cdp.ai-requests.v1`; the AI service answers on
`cdp.ai-responses.v1` with an `ai.responded` carrying the same `correlation_id`. The same draft models
are the bodies of `POST /api/ai/segment` and `POST /api/ai/campaign`. Drafts are data only: nothing is
saved until someone saves them through the segments and flows APIs.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from schemas.envelope import Envelope, workspace_key

MAX_PROMPT_CHARS = 2000
# pydantic itself refuses lone surrogates (they cannot be stored or sent back as UTF-8).
Prompt = Annotated[str, StringConstraints(min_length=1, max_length=MAX_PROMPT_CHARS, pattern=r"^[^\x00]*$")]
GenerationKind = Literal["segment", "campaign"]
TIME_OF_DAY = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SegmentDraft(_Model):
    """A segment to inspect, edit and save: its rule is validated against the workspace's catalogue."""

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(max_length=2000)
    rule: dict[str, Any] = Field(description="A rule of the segment language (docs/segments.md).")
    explanation: str = Field(max_length=4000, description="How each part of the prompt was read.")
    estimated_count: int | None = Field(
        default=None,
        ge=0,
        description="Customers the rule selects now; null if segmentation was unreachable.",
    )
    warnings: list[str] = Field(default_factory=list, description="What was not understood or not checked.")


class OfferDraft(_Model):
    """The offer, in the shape of a campaign step's `offer` (each customer gets a unique code)."""

    type: Literal["percent", "fixed_amount", "free_item", "voucher"]
    value: float | None = Field(default=None, ge=0)
    item: str | None = Field(default=None, max_length=200)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


Weekday = Literal["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


class SendTime(_Model):
    day_of_week: Weekday | None = None
    local_time: str = Field(pattern=TIME_OF_DAY, description="In the customer's time zone.")
    reason: str = Field(max_length=1000)


class CampaignDraft(_Model):
    """A complete campaign to review: audience, a flow valid for `POST /api/flows`, offer and copy."""

    segment: SegmentDraft
    flow: dict[str, Any] = Field(
        description="Valid input for POST /api/flows; its trigger names `segment_id`, a placeholder until "
        "the segment is saved."
    )
    offer: OfferDraft | None = None
    subject_lines: list[str] = Field(min_length=3, max_length=3)
    preview_text: str = Field(max_length=300)
    send_time: SendTime
    content_ideas: list[str] = Field(min_length=1, max_length=10)
    rationale: str = Field(max_length=4000)
    warnings: list[str] = Field(default_factory=list)


class GenerationError(_Model):
    code: str
    message: str
    details: Any = None


class AiRequest(_Model):
    correlation_id: str = Field(min_length=1, max_length=200, description="Echoed in the response.")
    kind: GenerationKind
    prompt: Prompt
    segment_id: str | None = Field(default=None, max_length=200, description="Campaigns: the flow's trigger.")


class AiRequested(Envelope):
    """A service asks for a segment or campaign draft; the answer comes on `cdp.ai-responses.v1`."""

    type: Literal["ai.requested"] = "ai.requested"
    payload: AiRequest


class AiResponse(_Model):
    correlation_id: str = Field(min_length=1, max_length=200)
    kind: GenerationKind
    outcome: Literal["ok", "error"]
    segment: SegmentDraft | None = None
    campaign: CampaignDraft | None = None
    error: GenerationError | None = None


class AiResponded(Envelope):
    """The draft for an `ai.requested` (or why there is none), with its `correlation_id`."""

    type: Literal["ai.responded"] = "ai.responded"
    payload: AiResponse


def ai_key(workspace_id: str, correlation_id: str) -> bytes:
    """Kafka key of both topics: a request and its answer land in the same partition number."""
    return workspace_key(workspace_id, correlation_id)
