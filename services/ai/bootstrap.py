"""Builds the ai service from settings; the API, the Kafka worker and the tests all start here."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from cdpkit.db import create_engine
from services.ai.adapters.generation_log import GenerationLog
from services.ai.adapters.openai_model import OpenAIModel
from services.ai.adapters.platform import Platform
from services.ai.handlers import Deps
from services.ai.settings import Settings


@dataclass
class AiService:
    settings: Settings
    engine: AsyncEngine
    http: httpx.AsyncClient
    deps: Deps
    log: GenerationLog
    model: OpenAIModel | None

    async def close(self) -> None:
        if self.model is not None:
            await self.model.close()
        await self.http.aclose()
        await self.engine.dispose()


def model_of(settings: Settings) -> OpenAIModel | None:
    """The configured model, or None (the planner answers) when no key is set."""
    key = settings.openai_api_key
    if key is None or not key.get_secret_value():
        return None
    return OpenAIModel(
        api_key=key.get_secret_value(),
        base_url=settings.openai_base_url,
        model=settings.openai_model,
        timeout_s=settings.ai_timeout_s,
        max_retries=settings.ai_max_retries,
    )


def bootstrap(settings: Settings) -> AiService:
    """The service: its log's database, the HTTP client of segmentation and the catalog, the model."""
    engine = create_engine(settings)
    http = httpx.AsyncClient(timeout=settings.ai_platform_timeout_s)
    token = settings.cdp_internal_token
    platform = Platform(
        http,
        settings.segmentation_url,
        settings.catalog_url,
        token.get_secret_value() if token else None,
        settings.ai_knowledge_ttl_s,
        settings.ai_max_products,
    )
    model = model_of(settings)
    log = GenerationLog(engine)
    return AiService(settings, engine, http, Deps(platform, log, model), log, model)
