"""One generation as the log keeps it: what was asked, who answered, how long it took, how it ended."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Outcome = Literal["ok", "refused", "invalid", "error"]


@dataclass
class Usage:
    """What a generation cost: calls made and the tokens the provider counted (None: not reported)."""

    attempts: int = 0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    def add(self, prompt_tokens: int | None, completion_tokens: int | None) -> None:
        """Count one more call."""
        self.attempts += 1
        if prompt_tokens is not None:
            self.prompt_tokens = (self.prompt_tokens or 0) + prompt_tokens
        if completion_tokens is not None:
            self.completion_tokens = (self.completion_tokens or 0) + completion_tokens


@dataclass
class Generation:
    """A log entry; `validation_errors` holds every problem met, repaired or not."""

    workspace_id: str
    kind: str
    prompt: str
    provider: str
    model: str | None
    source: str = "http"
    correlation_id: str | None = None
    latency_ms: int = 0
    usage: Usage = field(default_factory=Usage)
    outcome: Outcome = "ok"
    validation_errors: list[Any] = field(default_factory=list)
    error: str | None = None
    generation_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def row(self) -> dict[str, Any]:
        """The entry as the log table's columns."""
        return {
            "workspace_id": self.workspace_id,
            "generation_id": self.generation_id,
            "created_at": self.created_at,
            "kind": self.kind,
            "source": self.source,
            "prompt": self.prompt,
            "provider": self.provider,
            "model": self.model,
            "latency_ms": self.latency_ms,
            "prompt_tokens": self.usage.prompt_tokens,
            "completion_tokens": self.usage.completion_tokens,
            "attempts": self.usage.attempts,
            "outcome": self.outcome,
            "validation_errors": self.validation_errors,
            "error": self.error,
            "correlation_id": self.correlation_id,
        }
