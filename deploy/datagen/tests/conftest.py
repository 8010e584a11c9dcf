"""A shop generated once for the generator's unit tests, with a fixed end so results never drift."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from deploy.datagen.shop import Shop
from deploy.datagen.timeline import Call

END = datetime(2026, 11, 21, tzinfo=UTC)


@pytest.fixture(scope="session")
def shop() -> Shop:
    return Shop(300, seed=7, end=END)


@pytest.fixture(scope="session")
def customers(shop: Shop) -> list[list[Call]]:
    """Each customer's calls, in customer order."""
    return list(shop.stream())
