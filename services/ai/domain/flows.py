"""Flows built from an email plan: a valid input for the campaigns service's `POST /api/flows`.

Whoever plans the emails (a playbook or a model), the flow's shape comes from here: a wait for the send
time, the emails with delays between them, an exit, quiet hours and a frequency cap. Text from a model
is made inert first: template delimiters are removed and HTML is escaped, so it is only ever copy.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from services.ai.domain.lexicon import ORDER_EVENT

DAY = 86400
SEGMENT_PLACEHOLDER = "replace-with-the-saved-segment-id"
_DELIMITERS = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")


@dataclass(frozen=True)
class EmailPlan:
    """One email: wait `wait_days` after the previous one, then send this subject and body (plain text)."""

    subject: str
    body: str
    wait_days: int = 0


def inert(text: str) -> str:
    """Model text with no template syntax left in it."""
    return _DELIMITERS.sub("", text)


def _template(subject: str, body: str, with_code: bool) -> dict[str, str]:
    greeting = "Hi {{ customer.first_name | default('there') }},"
    code = "Your code: {{ offer.code }}" if with_code else ""
    paragraphs = [p.strip() for p in body.split("\n\n") if p.strip()]
    html_body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    html_code = f"<p><strong>{code}</strong></p>" if code else ""
    return {
        "subject": subject[:1000],
        "html": f"<p>{greeting}</p>{html_body}{html_code}"
        '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
        "text": "\n\n".join(
            [greeting, *paragraphs, *([code] if code else []), "Unsubscribe: {{ unsubscribe_url }}"]
        ),
    }


def build_flow(
    name: str,
    emails: list[EmailPlan],
    *,
    offer: dict[str, Any] | None,
    segment_id: str | None,
    send_at: str | None,
    ends_on_purchase: bool,
    reentry_days: int | None,
) -> dict[str, Any]:
    """The flow JSON: [wait for `send_at`] → email → delay → email … → exit."""
    steps: list[dict[str, Any]] = []
    for n, email in enumerate(emails, start=1):
        if n > 1:
            steps.append({"id": f"wait_{n}", "type": "delay", "seconds": max(1, email.wait_days) * DAY})
        step: dict[str, Any] = {
            "id": f"email_{n}",
            "type": "send_email",
            "template": _template(email.subject, email.body, offer is not None),
            "marketing": True,
        }
        if offer is not None:
            step["offer"] = offer
        steps.append(step)
    if send_at is not None:
        steps.insert(0, {"id": "wait_for_send_time", "type": "delay", "until": send_at})
    steps.append({"id": "done", "type": "exit"})
    for current, following in pairwise(steps):
        current["next"] = following["id"]
    return {
        "name": name[:200],
        "trigger": {"type": "segment_entered", "segment_id": segment_id or SEGMENT_PLACEHOLDER},
        "entry_step": steps[0]["id"],
        "steps": steps,
        "exit_when": [{"event": ORDER_EVENT}] if ends_on_purchase else [],
        "reentry": {"policy": "after_days", "days": reentry_days} if reentry_days else {"policy": "never"},
        "frequency_cap": {"max_emails": 3, "per_seconds": 7 * DAY},
        "quiet_hours": {"start": "21:00", "end": "08:00"},
    }
