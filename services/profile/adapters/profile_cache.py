"""Profiles the worker folded recently, kept in memory so a batch need not read and decode them again.

A cached profile is used only when its version equals the row's, read under the batch's row lock, so
a change made by any other writer (another replica, a score run, a merge) makes it miss. Profiles a
batch touched are dropped when the batch fails: the fold mutates them before the commit.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from services.profile.domain.profile import CustomerProfile
from services.profile.folding import CustomerKey


class ProfileCache:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._profiles: OrderedDict[CustomerKey, CustomerProfile] = OrderedDict()

    def peek(self, keys: Iterable[CustomerKey]) -> dict[CustomerKey, CustomerProfile]:
        """The cached profiles among `keys`, whatever their version (the caller compares it to the row's)."""
        return {key: profile for key in keys if (profile := self._profiles.get(key)) is not None}

    def touch(self, keys: Iterable[CustomerKey]) -> None:
        """Mark profiles found still current as recently used."""
        for key in keys:
            self._profiles.move_to_end(key)

    def keep(self, profiles: Iterable[CustomerProfile]) -> None:
        """Remember profiles just committed."""
        for profile in profiles:
            key = (profile.workspace_id, profile.customer_id)
            self._profiles[key] = profile
            self._profiles.move_to_end(key)
        while len(self._profiles) > self.capacity:
            self._profiles.popitem(last=False)

    def forget(self, keys: Iterable[CustomerKey]) -> None:
        for key in keys:
            self._profiles.pop(key, None)

    def clear(self) -> None:
        self._profiles.clear()
