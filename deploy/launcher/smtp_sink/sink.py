"""The local SMTP sink: accepts every mail (aiosmtpd), keeps the latest in memory, lists them over HTTP.

Run: python -m deploy.launcher.smtp_sink api   (SMTP on SMTP_PORT, HTTP on HTTP_PORT)

`make run` and the test stacks start it; the campaigns service delivers to it and serves what it
received at `GET /api/outbox/emails?to=<address>` (read from this process's `GET /emails`). A mail
whose Message-ID was seen before is kept once; its `copies` counts how often it came.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI, Query

from cdpkit.http import create_app
from deploy.launcher.smtp_sink.settings import Settings

KEEP_PER_ADDRESS = 500
# Message-IDs remembered for dedupe; the oldest are forgotten, or the sink would hold every mail forever.
KEEP_MESSAGE_IDS = 20_000
WORKSPACE_HEADER = "X-CDP-Workspace"


class Mailbox:
    """What the sink received, newest last, per recipient address (lower case)."""

    def __init__(self) -> None:
        self.by_address: dict[str, deque[dict[str, Any]]] = {}
        self.seen: dict[str, list[dict[str, Any]]] = {}
        self.received = 0

    def keep(self, raw: bytes, recipients: list[str]) -> None:
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        message_id = str(parsed.get("Message-ID", ""))
        if message_id and message_id in self.seen:
            for mail in self.seen[message_id]:
                mail["copies"] += 1  # kept once, but the sender's resend shows
            return
        kept = self.seen.setdefault(message_id, []) if message_id else []
        if len(self.seen) > KEEP_MESSAGE_IDS:
            del self.seen[next(iter(self.seen))]
        self.received += 1
        html, text = _part(parsed, "html"), _part(parsed, "plain")
        for address in recipients:
            mail = {
                "to": address,
                "from": str(parsed.get("From", "")),
                "subject": str(parsed.get("Subject", "")),
                "html": html,
                "text": text,
                "message_id": message_id,
                "workspace_id": str(parsed.get(WORKSPACE_HEADER, "")),
                "headers": {k: str(v) for k, v in parsed.items()},
                "received_at": datetime.now(UTC).isoformat(),
                "copies": 1,
            }
            kept.append(mail)
            box = self.by_address.setdefault(address.lower(), deque(maxlen=KEEP_PER_ADDRESS))
            box.append(mail)


def _part(message: EmailMessage, subtype: str) -> str:
    body = message.get_body(preferencelist=(subtype,))
    return str(body.get_content()) if body is not None else ""


class _Handler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.mailbox.keep(content, list(envelope.rcpt_tos))
        return "250 Message accepted"


def create_sink(settings: Settings) -> FastAPI:
    """The sink's HTTP app; its lifespan runs the SMTP server."""
    mailbox = Mailbox()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(_Handler(mailbox), hostname="cdp-smtp-sink"), settings.http_host, settings.smtp_port
        )
        try:
            yield
        finally:
            server.close()
            await server.wait_closed()

    app = create_app(settings=settings, title="CDP SMTP sink", lifespan=lifespan)

    @app.get("/emails")
    async def emails(
        to: str = Query(max_length=320), workspace_id: str | None = Query(default=None, max_length=64)
    ) -> dict[str, Any]:
        items = list(mailbox.by_address.get(to.lower(), ()))
        if workspace_id is not None:
            items = [mail for mail in items if mail["workspace_id"] == workspace_id]
        return {"items": items[::-1]}

    return app
