"""Background work inside a service process, restarted when it fails, visible to readiness."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Supervised:
    """Runs `work()` until cancelled; if it raises, logs it and starts it again after a backoff."""

    def __init__(self, name: str, work: Callable[[], Awaitable[None]], max_backoff_s: float = 30.0) -> None:
        self.name = name
        self.work = work
        self.max_backoff_s = max_backoff_s
        self.running = False
        self.restarts = 0
        self.last_error: str | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self, timeout_s: float = 10.0) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(self._task, timeout_s)

    async def check(self) -> dict[str, object]:
        """A readiness check: fails while the work is not running."""
        if not self.running:
            raise RuntimeError(f"{self.name} is not running (last error: {self.last_error})")
        return {"restarts": self.restarts}

    async def _loop(self) -> None:
        backoff = 0.5
        while True:
            self.running = True
            try:
                await self.work()
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self.last_error = repr(error)
                self.restarts += 1
                log.exception("%s failed; restarting", self.name, extra={"backoff_s": backoff})
            finally:
                self.running = False
            await asyncio.sleep(backoff)
            backoff = min(self.max_backoff_s, backoff * 2)
