"""A flow (journey): its trigger, its steps as a graph, exit criteria, re-entry, caps and quiet hours."""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

StepId = Annotated[str, Field(min_length=1, max_length=100)]
TIME_OF_DAY = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SegmentEnteredTrigger(_Strict):
    type: Literal["segment_entered"]
    segment_id: str = Field(min_length=1, max_length=200)


class EventTrigger(_Strict):
    """A tracked event by name; `properties` must all match (equal, or `{"op": ..., "value": ...}`)."""

    type: Literal["event"]
    event: str = Field(min_length=1, max_length=200)
    properties: dict[str, Any] = Field(default_factory=dict)


class ManualTrigger(_Strict):
    type: Literal["manual"]


Trigger = Annotated[SegmentEnteredTrigger | EventTrigger | ManualTrigger, Field(discriminator="type")]


class InlineTemplate(_Strict):
    subject: str = Field(min_length=1, max_length=1000)
    html: str = Field(default="", max_length=200_000)
    text: str = Field(default="", max_length=200_000)


class Offer(_Strict):
    """What the customer gets; each enrolled customer gets a unique `code` rendered as `{{ offer.code }}`."""

    type: Literal["percent", "fixed_amount", "free_item", "voucher"]
    value: float | None = Field(default=None, ge=0)
    item: str | None = Field(default=None, max_length=200)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class SendEmail(_Strict):
    id: StepId
    type: Literal["send_email"]
    template: InlineTemplate | None = None
    template_id: str | None = Field(default=None, max_length=200)
    offer: Offer | None = None
    marketing: bool = True
    next: StepId | None = None

    @cached_property
    def spec(self) -> dict[str, Any]:
        """What its send needs, dumped once per loaded flow (the scheduler reads it per enrollment)."""
        return self.model_dump(include={"template", "template_id", "offer", "marketing"})


class SendWebhook(_Strict):
    id: StepId
    type: Literal["send_webhook"]
    url: str = Field(pattern=r"^https?://", max_length=2000)
    body: dict[str, Any] = Field(default_factory=dict)
    next: StepId | None = None


class Delay(_Strict):
    """Wait `seconds`, or until the next `until` (HH:MM) in the customer's timezone."""

    id: StepId
    type: Literal["delay"]
    seconds: int | None = Field(default=None, ge=0, le=366 * 24 * 3600)
    until: str | None = Field(default=None, pattern=TIME_OF_DAY)
    next: StepId | None = None


class WaitForEvent(_Strict):
    id: StepId
    type: Literal["wait_for_event"]
    event: str = Field(min_length=1, max_length=200)
    timeout_seconds: int = Field(ge=1, le=366 * 24 * 3600)
    on_event: StepId | None = None
    on_timeout: StepId | None = None


class Branch(_Strict):
    """A rule of the segmentation language on the customer's profile: `yes` when it holds, else `no`."""

    id: StepId
    type: Literal["branch"]
    rule: dict[str, Any]
    yes: StepId | None = None
    no: StepId | None = None


class Variant(_Strict):
    name: str = Field(min_length=1, max_length=100)
    weight: float = Field(gt=0)
    next: StepId | None = None


class AutoWinner(_Strict):
    """Once a variant wins on `metric` at `confidence`, later enrollments all take it.

    Ranges are checked by graph validation (so the error names the step), not here.
    """

    metric: Literal["clicked", "opened", "redeemed", "converted"] = "clicked"
    min_per_variant: int = 100
    confidence: float = 0.95


class Split(_Strict):
    """A/B: each enrollment takes one variant, chosen by weight and fixed by its id (or the winner)."""

    id: StepId
    type: Literal["split"]
    variants: list[Variant] = Field(min_length=2, max_length=10)
    auto_winner: AutoWinner | None = None


class UpdateTrait(_Strict):
    id: StepId
    type: Literal["update_trait"]
    traits: dict[str, Any] = Field(min_length=1)
    next: StepId | None = None


class Exit(_Strict):
    id: StepId
    type: Literal["exit"]


Step = Annotated[
    SendEmail | SendWebhook | Delay | WaitForEvent | Branch | Split | UpdateTrait | Exit,
    Field(discriminator="type"),
]


class ExitCriterion(_Strict):
    """The enrollment ends when the customer does this (a tracked event, properties as in triggers)."""

    event: str = Field(min_length=1, max_length=200)
    properties: dict[str, Any] = Field(default_factory=dict)


class Reentry(_Strict):
    policy: Literal["never", "after_days", "always"] = "never"
    days: int | None = Field(default=None, ge=1, le=3650)


class FrequencyCap(_Strict):
    """At most `max_emails` from this flow to one customer within `per_seconds`; more are skipped."""

    max_emails: int = Field(ge=1)
    per_seconds: int = Field(ge=1)


class QuietHours(_Strict):
    """No email between `start` and `end` (customer's timezone): it waits for `end`."""

    start: str = Field(pattern=TIME_OF_DAY)
    end: str = Field(pattern=TIME_OF_DAY)


class Flow(_Strict):
    name: str = Field(min_length=1, max_length=200)
    trigger: Trigger
    entry_step: StepId
    steps: list[Step] = Field(min_length=1, max_length=500)
    exit_when: list[ExitCriterion] = Field(default_factory=list, max_length=50)
    reentry: Reentry = Reentry()
    frequency_cap: FrequencyCap | None = None
    quiet_hours: QuietHours | None = None

    def step(self, step_id: str) -> Any:
        """The step with this id (KeyError when none)."""
        return self._by_id[step_id]

    @cached_property
    def _by_id(self) -> dict[str, Any]:
        return {step.id: step for step in self.steps}


def successors(step: Any) -> list[str | None]:
    """Where a step can lead (None: nowhere, which validation refuses except on `exit`)."""
    if isinstance(step, Exit):
        return []
    if isinstance(step, Branch):
        return [step.yes, step.no]
    if isinstance(step, WaitForEvent):
        return [step.on_event, step.on_timeout]
    if isinstance(step, Split):
        return [variant.next for variant in step.variants]
    return [step.next]


def pauses(step: Any) -> bool:
    """A step that waits for time to pass (a cycle through one cannot spin)."""
    return isinstance(step, Delay | WaitForEvent)
