"""Finding a contact by any of its ids (customer, user or anonymous id), on the real database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest

from cdpkit.settings import ServiceSettings
from services.campaigns.bootstrap import CampaignService, bootstrap
from services.campaigns.settings import Settings
from tests.factories import unique


@pytest.fixture
async def campaigns(settings: ServiceSettings) -> AsyncIterator[CampaignService]:
    service = bootstrap(Settings(**settings.model_dump(include={"database_url", "kafka_bootstrap_servers"})))
    yield service
    await service.close()


ContactRow = tuple[str, str, str | None, str | None, str, str, int]


def contact(
    workspace_id: str, customer_id: str, user_id: str | None, anonymous: list[str], version: int
) -> ContactRow:
    profile = {"customer_id": customer_id, "user_id": user_id, "version": version}
    return (
        workspace_id,
        customer_id,
        user_id,
        None,
        orjson.dumps(anonymous).decode(),
        orjson.dumps(profile).decode(),
        version,
    )


async def test_a_contact_is_found_by_each_of_its_ids_and_a_customer_id_comes_first(
    campaigns: CampaignService,
) -> None:
    workspace, other = unique("ws-contacts"), unique("ws-other")
    async with campaigns.uow() as uow:
        await uow.journeys.upsert_contacts(
            [
                contact(workspace, "c-1", "u-1", ["anon-1", "anon-2"], 3),
                # An older customer also claimed anon-2 (before a merge reached us): the newest wins.
                contact(workspace, "c-old", None, ["anon-2"], 1),
                # A customer whose user id is another customer's customer id: the customer id wins.
                contact(workspace, "c-2", "c-1", [], 9),
                contact(other, "c-9", "u-9", ["anon-9"], 1),
            ]
        )
        await uow.commit()
    async with campaigns.uow() as uow:
        journeys = uow.journeys
        found = {ref: await journeys.contact(workspace, ref) for ref in ("c-1", "u-1", "anon-1", "anon-2")}
        assert {ref: p["customer_id"] if p else None for ref, p in found.items()} == {
            "c-1": "c-1",
            "u-1": "c-1",
            "anon-1": "c-1",
            "anon-2": "c-1",
        }
        assert await journeys.customer_id(workspace, None, "anon-2") == "c-1"
        assert await journeys.customer_id(workspace, "nobody", "anon-nobody") == "nobody"
        # Another workspace's ids are never found.
        assert await journeys.contact(workspace, "u-9") is None
        assert await journeys.contact(workspace, "anon-9") is None
        assert (await journeys.contact(other, "anon-9") or {}).get("customer_id") == "c-9"
        # The locking lookup (unsubscribe) finds the same contact.
        unsubscribed = await journeys.unsubscribe(workspace, "anon-1")
        assert unsubscribed is not None and unsubscribed[0]["customer_id"] == "c-1"
        assert await journeys.unsubscribe(workspace, "anon-9") is None
