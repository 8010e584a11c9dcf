"""Properties of the events beyond Segment's e-commerce spec: customer service and email engagement."""

from __future__ import annotations

from schemas.ecommerce.types import Properties, RequiredId, Score


class SupportInteraction(Properties):
    """A customer-service interaction: a complaint, an inquiry, feedback, and how it went."""

    interaction_type: RequiredId
    channel: str | None = None
    resolution_status: str | None = None
    satisfaction_score: Score | None = None
    ticket_id: str | None = None


class _EmailEvent(Properties):
    campaign_id: str | None = None
    flow_id: str | None = None
    step_id: str | None = None
    email_id: str | None = None
    message_id: str | None = None


class EmailDelivered(_EmailEvent):
    """An email reached the customer's mailbox."""


class EmailOpened(_EmailEvent):
    """The customer opened an email."""


class EmailLinkClicked(_EmailEvent):
    """The customer clicked a link in an email."""

    url: str | None = None


class Unsubscribed(_EmailEvent):
    """The customer unsubscribed, from the email identified by the send's ids when known."""
