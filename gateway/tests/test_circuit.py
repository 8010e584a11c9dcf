"""The circuit breaker's states, with a fake clock."""

from __future__ import annotations

from gateway.domain.circuit import CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker(threshold=3, open_s=10, clock=clock)


def test_it_opens_after_the_threshold_of_consecutive_failures_only() -> None:
    circuit = breaker(Clock())
    circuit.failed()
    circuit.failed()
    circuit.succeeded()  # a success in between resets the count
    circuit.failed()
    circuit.failed()
    assert circuit.retry_after() is None
    circuit.failed()
    assert circuit.state == "open"
    assert circuit.retry_after() == 10


def test_after_the_open_period_one_trial_goes_through_and_its_success_closes_it() -> None:
    clock = Clock()
    circuit = breaker(clock)
    for _ in range(3):
        circuit.failed()
    clock.now += 10
    assert circuit.state == "half_open"
    assert circuit.retry_after() is None  # the trial
    assert circuit.retry_after() == 10  # everyone else waits while it runs
    circuit.succeeded()
    assert circuit.state == "closed" and circuit.retry_after() is None


def test_a_failed_trial_opens_it_again_at_once() -> None:
    clock = Clock()
    circuit = breaker(clock)
    for _ in range(3):
        circuit.failed()
    clock.now += 11
    assert circuit.retry_after() is None
    circuit.failed()
    assert circuit.state == "open"
    assert 9.9 < (circuit.retry_after() or 0) <= 10
