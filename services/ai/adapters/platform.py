"""What the AI service learns from the other services over HTTP, as the gateway calls them.

Segmentation gives the live field catalogue (`GET /api/segments/fields`) and counts a rule's members
(`POST /api/segments/preview`); the catalog gives the workspace's categories, brands and products.
Each request carries the caller's workspace and the internal token. Either service may be down: the
answer then degrades (base catalogue, no count) with a warning instead of failing the generation.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from cdpkit.tenancy import INTERNAL_TOKEN_HEADER, WORKSPACE_HEADER
from schemas.rules import FieldCatalogue
from schemas.rules.catalogue import TRAIT_PREFIX
from services.ai.domain.entities import PlannerContext

log = logging.getLogger(__name__)
PRODUCT_PAGE = 500


@dataclass(frozen=True)
class Knowledge:
    """The workspace as a generation sees it: the catalogue to validate with, names to resolve."""

    catalogue: FieldCatalogue
    context: PlannerContext
    described: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


class Platform:
    """HTTP client of segmentation and the catalog for one process; answers cached per workspace briefly."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        segmentation_url: str,
        catalog_url: str,
        internal_token: str | None,
        ttl_s: float,
        max_products: int,
    ) -> None:
        self._client = client
        self._segmentation = segmentation_url.rstrip("/")
        self._catalog = catalog_url.rstrip("/")
        self._token = internal_token
        self._ttl_s = ttl_s
        self._max_products = max_products
        self._cache: dict[str, tuple[float, Knowledge]] = {}

    def _headers(self, workspace_id: str) -> dict[str, str]:
        headers = {WORKSPACE_HEADER: workspace_id}
        if self._token:
            headers[INTERNAL_TOKEN_HEADER] = self._token
        return headers

    async def knowledge(self, workspace_id: str) -> Knowledge:
        """The live catalogue and the catalog's names (cached for the TTL); degraded when unreachable."""
        cached = self._cache.get(workspace_id)
        if cached is not None and time.monotonic() - cached[0] < self._ttl_s:
            return cached[1]
        warnings: list[str] = []
        # Two services, neither waiting on the other: asked at once, a cold workspace costs one round trip.
        described, products = await asyncio.gather(self._fields(workspace_id), self._products(workspace_id))
        catalogue = FieldCatalogue()
        cities: tuple[str, ...] = ()
        if described is None:
            warnings.append("segmentation is unreachable: the rule was checked against the base catalogue")
        else:
            catalogue = catalogue_of(described)
            city: dict[str, Any] = next(
                (f for f in described.get("fields", []) if f.get("name") == "city"), {}
            )
            cities = tuple(str(e) for e in city.get("examples") or [] if isinstance(e, str))
        if products is None:
            warnings.append("the catalog is unreachable: categories, brands and products were not resolved")
            products = []
        context = PlannerContext(
            categories=tuple(sorted({p["category"] for p in products if p.get("category")})),
            brands=tuple(sorted({p["brand"] for p in products if p.get("brand")})),
            products=tuple((p["product_id"], p["name"]) for p in products if p.get("name")),
            cities=cities,
        )
        found = Knowledge(catalogue, context, described or {}, tuple(warnings))
        if not warnings:
            self._cache[workspace_id] = (time.monotonic(), found)
        return found

    async def _get(self, url: str, workspace_id: str, params: dict[str, Any] | None = None) -> Any:
        """The JSON body of a 200, or None (logged) when the service is unreachable or answers otherwise."""
        try:
            answer = await self._client.get(url, params=params, headers=self._headers(workspace_id))
        except httpx.HTTPError as error:
            log.warning("%s unreachable: %s", url, error)
            return None
        if answer.status_code != 200:
            log.warning("%s answered %s", url, answer.status_code)
            return None
        return answer.json()

    async def _fields(self, workspace_id: str) -> dict[str, Any] | None:
        body: dict[str, Any] | None = await self._get(
            f"{self._segmentation}/api/segments/fields", workspace_id
        )
        return body

    async def _products(self, workspace_id: str) -> list[dict[str, Any]] | None:
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        while len(found) < self._max_products:
            params: dict[str, Any] = {"limit": PRODUCT_PAGE}
            if cursor:
                params["cursor"] = cursor
            page = await self._get(f"{self._catalog}/api/products", workspace_id, params)
            if page is None:
                return None
            found += page.get("items", [])
            cursor = page.get("next_cursor")
            if not cursor:
                break
        return found[: self._max_products]

    async def count(self, workspace_id: str, rule: dict[str, Any]) -> tuple[int | None, str | None]:
        """How many customers the rule selects now, or (None, why) when segmentation cannot say."""
        try:
            answer = await self._client.post(
                f"{self._segmentation}/api/segments/preview",
                json={"rule": rule},
                headers=self._headers(workspace_id),
            )
        except httpx.HTTPError as error:
            log.warning("segmentation preview unreachable: %s", error)
            return None, "segmentation is unreachable: no estimated count"
        if answer.status_code != 200:
            return None, f"segmentation could not count the rule (HTTP {answer.status_code})"
        return int(answer.json()["count"]), None


def catalogue_of(described: dict[str, Any]) -> FieldCatalogue:
    """The catalogue segmentation described: profile fields, and the traits and events it has seen."""
    traits = {
        t["name"].removeprefix(TRAIT_PREFIX): t.get("type", "any")
        for t in described.get("traits", [])
        if isinstance(t.get("name"), str)
    }
    events = {
        e["name"]: {
            p["name"]: p.get("type", "any") for p in e.get("properties", []) if isinstance(p.get("name"), str)
        }
        for e in described.get("events", [])
        if isinstance(e.get("name"), str)
    }
    return FieldCatalogue().with_traits(traits).with_events(events)
