"""A worker process: supervised background work (consumers, relays) plus the probe endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fastapi import FastAPI

from cdpkit.health import Check
from cdpkit.http import create_app
from cdpkit.settings import ServiceSettings
from cdpkit.supervise import Supervised


@dataclass
class Background:
    """What a worker runs, what says it is ready, and how to release its resources."""

    work: dict[str, Callable[[], Awaitable[None]]]
    checks: Mapping[str, Check]
    stop: Callable[[], None]
    close: Callable[[], Awaitable[None]]
    supervised: list[Supervised] = field(default_factory=list)


def create_worker_app(
    settings: ServiceSettings, title: str, start: Callable[[], Awaitable[Background]]
) -> FastAPI:
    """An app whose lifespan starts the background work, supervised, and stops it gracefully."""
    state: dict[str, Background] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        background = await start()
        background.supervised = [Supervised(name, work) for name, work in background.work.items()]
        state["background"] = background
        for task in background.supervised:
            task.start()
        try:
            yield
        finally:
            background.stop()
            for task in background.supervised:
                await task.stop()
            await background.close()

    def checks() -> Mapping[str, Check]:
        background = state.get("background")
        if background is None:
            return {}
        return {**background.checks, **{task.name: task.check for task in background.supervised}}

    return create_app(settings=settings, title=title, checks=checks, lifespan=lifespan)
