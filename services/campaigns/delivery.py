"""The delivery worker: send events in, email over SMTP (or a webhook POST) out, the result recorded.

Each send event is delivered once: its `sends` row says whether it was already finished (a
redelivered event is a duplicate). Suppression is decided at delivery time from the contact read
model, so an unsubscribe that lands after the send was scheduled still counts. SMTP and webhooks
are retried with exponential backoff; a permanent SMTP refusal (5xx) is a bounce.

A crash after the SMTP server accepted a mail but before the commit delivers it again on
redelivery: SMTP has no transaction with our database. The mail's Message-ID is the send's id, so
the receiving side can recognise the resend (the local sink keeps one copy).

The HTML part is tracked (`domain/links.py`): its web links go through the signed click redirect and
an open pixel is appended, both naming the send; the text part is sent as written.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from functools import cache
from typing import Any

import aiosmtplib
import httpx
from pydantic import ValidationError

from cdpkit.consumer import Consumed, PoisonMessage
from cdpkit.kafka import encode, standard_headers
from schemas.campaigns import DeliveryOutcome, DeliveryResult, DeliveryStatus, SendEvent, send_key
from schemas.topics import DELIVERY_RESULTS
from services.campaigns.adapters.unit_of_work import CampaignUnitOfWork
from services.campaigns.domain.links import tracked_html
from services.campaigns.domain.templates import customer_context, render
from services.campaigns.links import click_url, open_url, public_prefix, unsubscribe_url
from services.campaigns.settings import Settings

log = logging.getLogger(__name__)
WORKSPACE_HEADER = "X-CDP-Workspace"
CONSENT_TRAITS = ("email_consent", "marketing_consent")
ONE_CLICK = "List-Unsubscribe=One-Click"


class Permanent(Exception):
    """A delivery that will never succeed (refused recipient, 4xx from a webhook): do not retry."""


def suppression(profile: dict[str, Any] | None, marketing: bool) -> str | None:
    """Why this customer may not get this email, or None."""
    if profile is None or not profile.get("email"):
        return "no email address"
    if not marketing:
        return None
    if profile.get("email_subscribed") is False:
        return "unsubscribed"
    traits = profile.get("traits") or {}
    if any(traits.get(name) is False for name in CONSENT_TRAITS):
        return "no consent"
    return None


@cache
def local_hostname() -> str:
    """The name we greet SMTP servers with (EHLO): aiosmtplib looks it up (`getfqdn`, a resolver call
    that blocks the event loop) on every connection unless given it."""
    return socket.getfqdn()


async def with_retries(
    attempt: Callable[[], Awaitable[None]], attempts: int, backoff_s: float
) -> tuple[int, str | None, bool]:
    """Run `attempt` until it succeeds: (attempts made, last error or None, permanent failure)."""
    for number in range(1, attempts + 1):
        try:
            await attempt()
            return number, None, False
        except Permanent as error:
            return number, str(error), True
        except Exception as error:
            if number == attempts:
                return number, repr(error), False
            await asyncio.sleep(backoff_s * 2 ** (number - 1))
    return attempts, "no attempt made", False


async def deliver_batch(
    messages: Sequence[Consumed], deliver: Callable[[SendEvent], Awaitable[str]], concurrency: int
) -> list[str | PoisonMessage]:
    """Deliver a batch's sends, up to `concurrency` at once; one outcome per message, in order.

    One at a time, a mail server's round trips capped delivery at a few emails a second. A send
    repeated within the batch is delivered by its first copy only (both would find it queued).
    Every delivery runs to its end before an error is raised, so the retried batch never overlaps
    a delivery still in flight; those finished are then duplicates.
    """
    limit = asyncio.Semaphore(concurrency)
    outcomes: list[str | PoisonMessage] = []
    seen: set[tuple[str, str]] = set()
    work: list[tuple[int, SendEvent]] = []
    for message in messages:
        try:
            event = SendEvent.model_validate_json(message.value)
        except ValidationError as error:
            outcomes.append(PoisonMessage(f"not a valid SendEvent: {error}"))
            continue
        key = (event.workspace_id, event.event_id)
        outcomes.append("duplicate")
        if key not in seen:
            seen.add(key)
            work.append((len(outcomes) - 1, event))

    async def one(event: SendEvent) -> str:
        async with limit:
            return await deliver(event)

    results = await asyncio.gather(*(one(event) for _, event in work), return_exceptions=True)
    for (index, _), result in zip(work, results, strict=True):
        if isinstance(result, BaseException):
            raise result
        outcomes[index] = result
    return outcomes


class Deliverer:
    """Delivers one send event and records its outcome in one transaction."""

    def __init__(
        self, settings: Settings, uow: Callable[[], CampaignUnitOfWork], http: httpx.AsyncClient
    ) -> None:
        self.settings, self.uow, self.http = settings, uow, http

    async def __call__(self, event: SendEvent) -> str:
        p = event.payload
        async with self.uow() as uow:
            status = await uow.journeys.send_status(event.workspace_id, event.event_id)
            if status not in (None, "queued"):
                return "duplicate"
            profile = await uow.journeys.contact(event.workspace_id, p.customer_id)
        if profile is None:
            profile = await self._contact_once_known(event)
        if p.channel == "webhook":
            to, outcome = p.url, await self._webhook(event, profile)
        else:
            to = (profile or {}).get("email")
            outcome = await self._email(event, profile)
        result_status, attempts, error = outcome
        async with self.uow() as uow:
            await uow.journeys.finish_send(event, result_status, to, attempts, error, datetime.now(UTC))
            result = DeliveryResult(
                event_id=f"result-{event.event_id}",
                workspace_id=event.workspace_id,
                occurred_at=datetime.now(UTC),
                payload=DeliveryOutcome(
                    send_id=event.event_id,
                    channel=p.channel,
                    customer_id=p.customer_id,
                    status=result_status,
                    to=to,
                    flow_id=p.flow_id,
                    campaign_id=p.campaign_id,
                    step_id=p.step_id,
                    variant=p.variant,
                    attempts=attempts,
                    error=error,
                ),
            )
            await uow.publish(
                [
                    (
                        DELIVERY_RESULTS.name,
                        send_key(event.workspace_id, p.customer_id),
                        encode(result),
                        standard_headers(result.type, result.event_id),
                    )
                ]
            )
            await uow.commit()
        return result_status

    async def _contact_once_known(self, event: SendEvent) -> dict[str, Any] | None:
        """The customer's contact, waited for up to `delivery_contact_wait_s`: a new customer's segment
        entry (and so the send) can arrive before the snapshot that carries their address, and
        suppressing then would lose a welcome email. None when it never came (then suppressed)."""
        waited, pause = 0.0, 0.2
        while waited < self.settings.delivery_contact_wait_s:
            await asyncio.sleep(pause)
            waited += pause
            async with self.uow() as uow:
                profile = await uow.journeys.contact(event.workspace_id, event.payload.customer_id)
            if profile is not None:
                return profile
            pause = min(pause * 2, 2.0)
        return None

    async def _email(
        self, event: SendEvent, profile: dict[str, Any] | None
    ) -> tuple[DeliveryStatus, int, str | None]:
        p = event.payload
        if reason := suppression(profile, p.marketing):
            return "suppressed", 0, reason
        assert profile is not None and p.content is not None
        context = {"customer": customer_context(profile), "offer": p.offer.model_dump() if p.offer else {}}
        workspace_id, send_id = event.workspace_id, event.event_id
        unsubscribe = (
            unsubscribe_url(self.settings, workspace_id, p.customer_id, send_id) if p.marketing else None
        )
        content = render(
            p.content.subject, p.content.html, p.content.text, context, unsubscribe_url=unsubscribe
        )
        html = tracked_html(
            content.html,
            lambda url: click_url(self.settings, workspace_id, send_id, url),
            open_url(self.settings, workspace_id, send_id),
            public_prefix(self.settings),
        )
        message = EmailMessage()
        message["From"] = self.settings.email_from
        message["To"] = profile["email"]
        message["Subject"] = content.subject
        message["Message-ID"] = f"<{event.event_id}@cdp.local>"
        message[WORKSPACE_HEADER] = event.workspace_id
        if unsubscribe:
            message["List-Unsubscribe"] = f"<{unsubscribe}>"
            # RFC 8058 one-click: the mail client POSTs this body to the link, no page shown.
            message["List-Unsubscribe-Post"] = ONE_CLICK
        message.set_content(content.text or " ")
        if html:
            message.add_alternative(html, subtype="html")

        async def attempt() -> None:
            try:
                await aiosmtplib.send(
                    message,
                    local_hostname=local_hostname(),
                    hostname=self.settings.smtp_host,
                    port=self.settings.smtp_port,
                    timeout=self.settings.smtp_timeout_s,
                )
            except aiosmtplib.SMTPRecipientsRefused as error:
                raise Permanent(f"recipient refused: {error}") from error
            except aiosmtplib.SMTPResponseException as error:
                if 500 <= error.code < 600:
                    raise Permanent(f"SMTP {error.code}: {error.message}") from error
                raise

        attempts, error, permanent = await with_retries(
            attempt, self.settings.delivery_max_attempts, self.settings.delivery_backoff_s
        )
        if error is None:
            return "delivered", attempts, None
        return ("bounced" if permanent else "failed"), attempts, error

    async def _webhook(
        self, event: SendEvent, profile: dict[str, Any] | None
    ) -> tuple[DeliveryStatus, int, str | None]:
        p = event.payload
        body = {
            "send_id": event.event_id,
            "customer": profile,
            "flow_id": p.flow_id,
            "step_id": p.step_id,
            **p.body,
        }

        async def attempt() -> None:
            answer = await self.http.post(str(p.url), json=body, headers={"Idempotency-Key": event.event_id})
            if 400 <= answer.status_code < 500 and answer.status_code != 429:
                raise Permanent(f"webhook answered {answer.status_code}")
            answer.raise_for_status()

        attempts, error, _ = await with_retries(
            attempt, self.settings.delivery_max_attempts, self.settings.delivery_backoff_s
        )
        return ("delivered" if error is None else "failed"), attempts, error
