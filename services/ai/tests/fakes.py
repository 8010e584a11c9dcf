"""In-memory fakes of the ai service's ports for unit tests: the platform and the generation log."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemas.rules import FieldCatalogue
from services.ai.adapters.platform import Knowledge
from services.ai.domain.generation import Generation
from services.ai.tests.shop import CONTEXT


@dataclass
class FakePlatform:
    """Knows the test shop's names; counts every rule as `count` (None: segmentation is down)."""

    count_is: int | None = 42
    counted: list[dict[str, Any]] = field(default_factory=list)

    async def knowledge(self, workspace_id: str) -> Knowledge:
        catalogue = FieldCatalogue().with_events({"Order Completed": {"total": "number"}})
        described = {"fields": catalogue.describe()["fields"], "events": [{"name": "Order Completed"}]}
        return Knowledge(catalogue, CONTEXT, described)

    async def count(self, workspace_id: str, rule: dict[str, Any]) -> tuple[int | None, str | None]:
        self.counted.append(rule)
        if self.count_is is None:
            return None, "segmentation is unreachable: no estimated count"
        return self.count_is, None


@dataclass
class FakeLog:
    entries: list[Generation] = field(default_factory=list)

    async def add(self, entry: Generation) -> None:
        self.entries.append(entry)
