"""Engagement beyond orders: visits (sessions), support interactions, e-mail responses, channels. Pure."""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SESSION_GAP_MS = 30 * 60 * 1000  # the analytics convention: more than 30 minutes of silence ends a visit
MAX_SESSIONS = 1000  # sessions kept one by one; older ones are summarised (see Visits)


@dataclass
class Visits:
    """Page and screen views grouped into sessions: views at most 30 minutes apart are one visit.

    A session is a cluster of view times on the time line, so any arrival order of the views gives
    the same sessions. Start and end times are in epoch milliseconds (integers: sums are exact).
    Past MAX_SESSIONS, the oldest session is summarised into a count and a duration; a view older
    than the summarised sessions no longer changes anything (the only order-dependent case).
    """

    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    archived: int = 0
    archived_ms: int = 0
    archived_until: int | None = None
    live_ms: int = field(init=False)  # the live sessions' time, derived and kept up to date

    def __post_init__(self) -> None:
        self.live_ms = sum(self.ends) - sum(self.starts)

    @property
    def count(self) -> int:
        """The number of visits."""
        return len(self.starts) + self.archived

    @property
    def spent_ms(self) -> int:
        """Time spent over all visits, in milliseconds."""
        return self.live_ms + self.archived_ms

    @property
    def average_seconds(self) -> float | None:
        """Mean visit length in seconds (first to last view; a one-view visit lasts 0 s)."""
        count = self.count
        return round(self.spent_ms / count / 1000, 3) if count else None

    def add(self, at_ms: int) -> None:
        """One page or screen view."""
        if self.archived_until is not None and at_ms <= self.archived_until + SESSION_GAP_MS:
            return
        starts, ends = self.starts, self.ends
        i = bisect_right(starts, at_ms)
        if i and at_ms <= ends[i - 1]:
            return
        joins_before = i > 0 and at_ms - ends[i - 1] <= SESSION_GAP_MS
        joins_after = i < len(starts) and starts[i] - at_ms <= SESSION_GAP_MS
        if joins_before and joins_after:
            self.live_ms += starts[i] - ends[i - 1]
            ends[i - 1] = ends[i]
            del starts[i], ends[i]
        elif joins_before:
            self.live_ms += at_ms - ends[i - 1]
            ends[i - 1] = at_ms
        elif joins_after:
            self.live_ms += starts[i] - at_ms
            starts[i] = at_ms
        else:
            starts.insert(i, at_ms)
            ends.insert(i, at_ms)
            if len(starts) > MAX_SESSIONS:
                self._archive_oldest()

    def _archive_oldest(self) -> None:
        start, end = self.starts.pop(0), self.ends.pop(0)
        self.live_ms -= end - start
        self.archived += 1
        self.archived_ms += end - start
        self.archived_until = end

    def absorb(self, other: Visits) -> None:
        """Merge another person's record of visits: sessions that touch become one."""
        self.archived += other.archived
        self.archived_ms += other.archived_ms
        if other.archived_until is not None and (
            self.archived_until is None or other.archived_until > self.archived_until
        ):
            self.archived_until = other.archived_until
        spans = sorted(zip(self.starts + other.starts, self.ends + other.ends, strict=True))
        self.starts, self.ends, self.live_ms = [], [], 0
        for start, end in spans:
            if self.archived_until is not None and end <= self.archived_until + SESSION_GAP_MS:
                continue
            if self.ends and start - self.ends[-1] <= SESSION_GAP_MS:
                self.live_ms += max(end, self.ends[-1]) - self.ends[-1]
                self.ends[-1] = max(end, self.ends[-1])
            else:
                self.starts.append(start)
                self.ends.append(end)
                self.live_ms += end - start
        while len(self.starts) > MAX_SESSIONS:
            self._archive_oldest()

    def to_state(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "s": self.starts,
            "e": self.ends,
            "n": self.archived,
            "ms": self.archived_ms,
            "until": self.archived_until,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Visits:
        """The visits `to_state` wrote."""
        return cls(list(state["s"]), list(state["e"]), state["n"], state["ms"], state["until"])


@dataclass
class Support:
    """Support Interactions: the latest one and the satisfaction scores given (count per score 1-5)."""

    last_at: datetime | None = None
    last_type: str | None = None
    scores: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0])

    @property
    def average_satisfaction(self) -> float | None:
        """Mean satisfaction score, to 2 decimals; None before any score."""
        given = sum(self.scores)
        if not given:
            return None
        return round(sum(score * n for score, n in enumerate(self.scores, start=1)) / given, 2)

    def add(self, properties: dict[str, Any], at: datetime) -> None:
        """One Support Interaction."""
        kind = properties.get("interaction_type")
        if self.last_at is None or at >= self.last_at:
            self.last_at = at
            self.last_type = kind if isinstance(kind, str) and kind else None
        score = properties.get("satisfaction_score")
        if isinstance(score, int) and not isinstance(score, bool) and 1 <= score <= 5:
            self.scores[score - 1] += 1

    def absorb(self, other: Support) -> None:
        """Add another record's scores; the later interaction is the last one (this one wins ties)."""
        self.scores = [a + b for a, b in zip(self.scores, other.scores, strict=True)]
        if other.last_at is not None and (self.last_at is None or other.last_at > self.last_at):
            self.last_at, self.last_type = other.last_at, other.last_type


@dataclass
class EmailResponses:
    """Emails delivered, and the distinct emails the customer opened or clicked."""

    delivered: int = 0
    responded: set[str] = field(default_factory=set)

    @property
    def rate(self) -> float | None:
        """Distinct emails opened or clicked per email delivered, at most 1; None before a delivery."""
        if not self.delivered:
            return None
        return round(min(1.0, len(self.responded) / self.delivered), 4)

    def respond(self, properties: dict[str, Any], event_id: str) -> None:
        """An Email Opened or Email Link Clicked: several on one email are one response."""
        self.responded.add(_email_key(properties, event_id))

    def absorb(self, other: EmailResponses) -> None:
        """Add another record's deliveries and responses."""
        self.delivered += other.delivered
        self.responded |= other.responded


def _email_key(properties: dict[str, Any], event_id: str) -> str:
    # The send an event is about: its message id, else its email id, else its campaign step;
    # hashed short, since a profile keeps one per email answered.
    for name in ("message_id", "email_id"):
        value = properties.get(name)
        if isinstance(value, str) and value:
            return _short(f"{name}:{value}")
    parts = [str(properties.get(name) or "") for name in ("campaign_id", "flow_id", "step_id")]
    return _short("step:" + "/".join(parts) if any(parts) else f"event:{event_id}")


def _short(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


_CHANNELS = {
    "email": "email",
    "e-mail": "email",
    "e_mail": "email",
    "newsletter": "email",
    "cpc": "paid_search",
    "ppc": "paid_search",
    "paid": "paid_search",
    "paidsearch": "paid_search",
    "paid_search": "paid_search",
    "sem": "paid_search",
    "display": "display",
    "banner": "display",
    "cpm": "display",
    "social": "social",
    "social-media": "social",
    "social_media": "social",
    "socialmedia": "social",
    "sm": "social",
    "paid_social": "social",
    "paid-social": "social",
    "organic": "organic",
    "seo": "organic",
    "affiliate": "affiliate",
    "referral": "referral",
    "sms": "sms",
    "push": "push",
}


def marketing_channel(context: dict[str, Any]) -> str | None:
    """The channel a view came through: its `context.campaign.medium` (UTM), normalised."""
    campaign = context.get("campaign")
    if not isinstance(campaign, dict):
        return None
    medium = campaign.get("medium")
    if not isinstance(medium, str) or not (medium := medium.strip().lower()):
        return None
    return _CHANNELS.get(medium, medium[:40])


def preferred(counts: dict[str, int]) -> str | None:
    """The channel with the most responses; ties go to the first name alphabetically."""
    if not counts:
        return None
    return min(counts, key=lambda name: (-counts[name], name))
