"""One customer's Segment calls, collected in any order and handed out in time order with stable ids."""

from __future__ import annotations

from typing import Any

from deploy.datagen.customers import Customer
from deploy.datagen.seasons import iso

Call = dict[str, Any]


class Timeline:
    """The calls of one customer; before sign-up an anonymous-first customer is only an anonymousId."""

    def __init__(self, prefix: str, customer: Customer) -> None:
        self.customer = customer
        self._id_stem = f"{prefix}-{customer.index:06d}-"
        self._entries: list[tuple[float, int, Call]] = []

    def identify(self, ts: float, traits: dict[str, Any]) -> None:
        """An identify; at sign-up an anonymous-first customer's carries both ids, which merges them."""
        call: Call = {"type": "identify", "userId": self.customer.user_id, "traits": traits}
        if self.customer.anonymous_id and ts == self.customer.joined_at:
            call["anonymousId"] = self.customer.anonymous_id
        self._add(ts, call)

    def track(
        self, ts: float, event: str, properties: dict[str, Any], context: dict[str, Any] | None = None
    ) -> None:
        """A track call of `event` (a name from the e-commerce vocabulary)."""
        call: Call = {"type": "track", "event": event, "properties": properties}
        self._add(ts, self._who(ts, call), context)

    def page(
        self, ts: float, name: str, properties: dict[str, Any], context: dict[str, Any] | None = None
    ) -> None:
        """A page view."""
        self._add(ts, self._who(ts, {"type": "page", "name": name, "properties": properties}), context)

    def calls(self) -> list[Call]:
        """The calls in time order, each with its messageId (stem + rank) and timestamp."""
        self._entries.sort(key=lambda entry: (entry[0], entry[1]))
        stamped = []
        for rank, (ts, _, call) in enumerate(self._entries):
            call["messageId"] = f"{self._id_stem}{rank:05d}"
            call["timestamp"] = iso(ts)
            stamped.append(call)
        self._entries = []
        return stamped

    def _who(self, ts: float, call: Call) -> Call:
        if self.customer.anonymous_id and ts < self.customer.joined_at:
            call["anonymousId"] = self.customer.anonymous_id
        else:
            call["userId"] = self.customer.user_id
        return call

    def _add(self, ts: float, call: Call, context: dict[str, Any] | None = None) -> None:
        if context:
            call["context"] = context
        self._entries.append((ts, len(self._entries), call))
