"""A circuit breaker per upstream: fail fast while a service is down instead of queueing on it. Pure."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class CircuitBreaker:
    """Closed → (threshold consecutive failures) → open for `open_s` → half-open: one trial call."""

    threshold: int
    open_s: float
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    opened_at: float | None = None
    trial_in_flight: bool = field(default=False)

    def retry_after(self) -> float | None:
        """None when a call may go ahead now; else the seconds until the next trial."""
        if self.opened_at is None:
            return None
        remaining = self.opened_at + self.open_s - self.clock()
        if remaining > 0:
            return remaining
        if self.trial_in_flight:
            return self.open_s
        self.trial_in_flight = True  # half-open: this caller is the trial
        return None

    def succeeded(self) -> None:
        self.failures, self.opened_at, self.trial_in_flight = 0, None, False

    def failed(self) -> None:
        self.failures += 1
        if self.trial_in_flight or self.failures >= self.threshold:
            self.opened_at, self.trial_in_flight = self.clock(), False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half_open" if self.clock() >= self.opened_at + self.open_s else "open"
