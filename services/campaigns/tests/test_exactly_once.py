"""The scheduler's exactly-once effect: a pass killed between its effect and its commit leaves the
work due and nothing sent; the redo sends each message once; a redelivered send event is not
delivered twice.

The stack's campaigns worker is stopped meanwhile, so only the passes of this test claim work.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest

from cdpkit.kafka import Publisher, encode, standard_headers
from cdpkit.settings import ServiceSettings
from deploy.launcher.layout import REPO
from deploy.launcher.processes import Proc, answers
from deploy.launcher.stack import Stack
from schemas.campaigns import SendEvent, send_key
from schemas.topics import CAMPAIGN_SENDS
from services.campaigns.bootstrap import CampaignService, bootstrap
from services.campaigns.scheduler import run_due
from services.campaigns.settings import Settings
from services.campaigns.tests.flows import simple_rule
from tests.factories import unique, wait_for

CUSTOMERS = 20
FLOW = {
    "name": "Once",
    "trigger": {"type": "manual"},
    "entry_step": "hello",
    "steps": [
        {
            "id": "hello",
            "type": "send_email",
            "template": {"subject": "Once {{ customer.first_name }}"},
            "next": "end",
        },
        {"id": "end", "type": "exit"},
    ],
}

# Runs one scheduler pass in another process and SIGKILLs it where the commit would be.
KILLED_PASS = """
import asyncio, os, signal, sys
from datetime import UTC, datetime
from services.campaigns.adapters.unit_of_work import CampaignUnitOfWork
from services.campaigns.bootstrap import bootstrap
from services.campaigns.scheduler import run_due
from services.campaigns.settings import Settings

async def die(self):
    os.kill(os.getpid(), signal.SIGKILL)

CampaignUnitOfWork.commit = die
service = bootstrap(Settings())
asyncio.run(run_due(service.uow(), datetime.now(UTC), limit=1000, evaluate=lambda r, p: False))
"""


@pytest.fixture
def worker_down(stack: Stack) -> Iterator[Proc]:
    """The stack's campaigns worker stopped for the test, then started again."""
    [worker] = [proc for proc in stack.procs if proc.name == "campaigns-worker"]
    worker.stop()
    yield worker
    worker.start()
    wait_for(lambda: answers(stack.service_url("campaigns-worker") + "/readyz"), bool, timeout_s=60)


@pytest.fixture
async def campaigns(settings: ServiceSettings) -> AsyncIterator[CampaignService]:
    service = bootstrap(Settings(**settings.model_dump(include={"database_url", "kafka_bootstrap_servers"})))
    yield service
    await service.close()


async def _world(service: CampaignService, workspace_id: str, sink_domain: str) -> str:
    """An active manual flow and CUSTOMERS contacts, each enrolled and due now; the flow's id."""
    flow_id = unique("flow")
    now = datetime.now(UTC)
    async with service.uow() as uow:
        await uow.definitions.add_flow(
            workspace_id,
            flow_id,
            {
                "name": "Once",
                "definition": FLOW,
                "status": "active",
                "trigger_type": "manual",
                "trigger_key": None,
            },
        )
        rows = []
        for n in range(CUSTOMERS):
            customer = f"c{n}"
            profile = {"customer_id": customer, "email": f"{customer}@{sink_domain}", "first_name": f"N{n}"}
            rows.append(
                (workspace_id, customer, None, profile["email"], "[]", orjson.dumps(profile).decode(), 1)
            )
        await uow.journeys.upsert_contacts(rows)
        for n in range(CUSTOMERS):
            assert await uow.journeys.enroll(workspace_id, flow_id, f"c{n}", 1, "hello", now, "test")
        await uow.commit()
    return flow_id


async def _counts(service: CampaignService, workspace_id: str, flow_id: str) -> dict[str, Any]:
    async with service.uow() as uow:
        db = await uow.journeys.db()
        states = await db.fetch(
            "SELECT state, count(*) FROM campaigns.enrollments WHERE workspace_id = $1 AND flow_id = $2 "
            "GROUP BY state",
            workspace_id,
            flow_id,
        )
        sends = await db.fetchval(
            "SELECT count(*) FROM campaigns.sends WHERE workspace_id = $1", workspace_id
        )
        outbox = await db.fetch(
            "SELECT value FROM campaigns.outbox WHERE topic = $1 AND position($2::bytea in value) > 0",
            CAMPAIGN_SENDS.name,
            workspace_id.encode(),
        )
    return {
        "states": dict(states),
        "sends": sends,
        "outbox": [SendEvent.model_validate_json(r[0]) for r in outbox],
    }


async def test_a_pass_killed_before_its_commit_is_redone_once(
    worker_down: Proc, campaigns: CampaignService, stack: Stack, gateway: httpx.Client, publisher: Publisher
) -> None:
    workspace_id = unique("ws")
    flow_id = await _world(campaigns, workspace_id, f"{workspace_id}.example.com")

    env = {**os.environ, **stack.env}
    killed = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", KILLED_PASS],
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert killed.returncode == -9, killed.stderr.decode()[-2000:]
    after_kill = await _counts(campaigns, workspace_id, flow_id)
    assert after_kill == {"states": {"ready": CUSTOMERS}, "sends": 0, "outbox": []}

    assert await run_due(campaigns.uow(), datetime.now(UTC), limit=1000, evaluate=simple_rule) >= CUSTOMERS
    assert await run_due(campaigns.uow(), datetime.now(UTC), limit=1000, evaluate=simple_rule) == 0
    done = await _counts(campaigns, workspace_id, flow_id)
    assert done["states"] == {"completed": CUSTOMERS} and done["sends"] == CUSTOMERS
    ids = {event.event_id for event in done["outbox"]}
    assert len(done["outbox"]) == len(ids) == CUSTOMERS

    # The worker back: the relay sends them, delivery mails each once; a redelivered event is a duplicate.
    worker_down.start()
    await asyncio.to_thread(
        wait_for, lambda: answers(stack.service_url("campaigns-worker") + "/readyz"), bool, 60
    )
    event = done["outbox"][0]
    await publisher.publish(
        CAMPAIGN_SENDS.name,
        send_key(workspace_id, event.payload.customer_id),
        encode(event),
        standard_headers(event.type, event.event_id),
    )
    sink = stack.service_url("smtp-sink")

    def received(n: int) -> list[Any]:
        items: list[Any] = httpx.get(
            f"{sink}/emails", params={"to": f"c{n}@{workspace_id}.example.com"}
        ).json()["items"]
        return items

    await asyncio.to_thread(wait_for, lambda: [received(n) for n in range(CUSTOMERS)], lambda r: all(r), 60)
    await asyncio.sleep(2)
    assert [[m["copies"] for m in received(n)] for n in range(CUSTOMERS)] == [[1]] * CUSTOMERS
    assert received(3)[0]["subject"] == "Once N3"
    worker_down.stop()  # the fixture starts it again
