"""Concurrent requests share one Redis call: each gets its own slice of the answer, or the error."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from services.ingest.adapters.coalesce import Coalescer


class FakeScript:
    def __init__(self, fail_when: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail_when = fail_when

    async def __call__(self, parts: list[list[str]]) -> Sequence[str]:
        keys = [key for part in parts for key in part]
        self.calls.append(keys)
        await asyncio.sleep(0.01)  # the round trip
        if self.fail_when in keys:
            raise ConnectionError("redis went away")
        return [key.upper() for key in keys]


async def test_requests_waiting_together_share_a_call_and_each_gets_its_own_answers() -> None:
    script = FakeScript()
    coalesce = Coalescer(script, size=len)
    first = asyncio.create_task(coalesce(["a"]))
    await asyncio.sleep(0.001)  # its call is out: the next ones wait for it, then go together
    rest = await asyncio.gather(*(coalesce([f"k{n}", f"j{n}"]) for n in range(10)))
    assert await first == ["A"]
    assert rest == [[f"K{n}", f"J{n}"] for n in range(10)]
    assert len(script.calls) == 2 and len(script.calls[1]) == 20


async def test_a_call_holds_at_most_max_size_keys_unless_one_request_alone_is_larger() -> None:
    script = FakeScript()
    coalesce = Coalescer(script, size=len, max_size=4)
    answers = await asyncio.gather(coalesce(["a", "b", "c"]), coalesce(["d", "e"]), coalesce(list("fghijk")))
    assert answers == [["A", "B", "C"], ["D", "E"], list("FGHIJK")]
    assert [len(keys) for keys in script.calls] == [3, 2, 6]


async def test_a_failed_call_fails_its_requests_only_and_the_next_call_is_made() -> None:
    script = FakeScript(fail_when="bad")
    coalesce = Coalescer(script, size=len)
    results = await asyncio.gather(coalesce(["bad"]), coalesce(["x"]), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)  # they shared the failed call
    assert await coalesce(["y"]) == ["Y"]


async def test_a_request_that_goes_away_does_not_disturb_the_others() -> None:
    coalesce = Coalescer(FakeScript(), size=len)
    leaving = asyncio.create_task(coalesce(["gone"]))
    staying = asyncio.create_task(coalesce(["here"]))
    await asyncio.sleep(0.001)
    leaving.cancel()
    assert await staying == ["HERE"]
    with pytest.raises(asyncio.CancelledError):
        await leaving
