"""An attempt's claim on message ids in the dedupe. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    """Which of the attempt's ids to publish (in its order), and the token that confirms them all
    once Kafka has their events. A claim never confirmed (publishing failed, or the process died)
    leaves its ids unseen: nothing to release."""

    token: str
    fresh: list[bool]
