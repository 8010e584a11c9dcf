"""The ai service's Prometheus metrics: generations by outcome, the provider's latency and failures, tokens.

Recorded by the two wrappers in `handlers` (every generation, every model call); docs/observability.md
lists them. Labels stay bounded: kind (segment, campaign), provider (the planner or the configured
one), outcome, and the error's stable code.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prometheus_client import Counter, Histogram

from cdpkit.errors import CdpError
from services.ai.domain.generation import Generation

SERVICE = "ai"
GENERATIONS = Counter(
    "cdp_ai_generations_total",
    "Generations by kind, provider (planner: no model) and outcome (ok, refused, invalid, error)",
    ["service", "kind", "provider", "outcome"],
)
GENERATION_SECONDS = Histogram(
    "cdp_ai_generation_seconds",
    "Time of a whole generation (catalogue, model calls and repair, count)",
    ["service", "kind", "provider"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80),
)
PROVIDER_SECONDS = Histogram(
    "cdp_ai_provider_request_seconds",
    "Time of one call to the model provider, by result (ok, or the error's code)",
    ["service", "provider", "result"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80),
)
TOKENS = Counter(
    "cdp_ai_tokens_total",
    "Tokens the provider counted, by direction (prompt, completion)",
    ["service", "provider", "direction"],
)


def record_generation(entry: Generation) -> None:
    """Count a finished generation (any outcome) and its tokens."""
    GENERATIONS.labels(SERVICE, entry.kind, entry.provider, entry.outcome).inc()
    GENERATION_SECONDS.labels(SERVICE, entry.kind, entry.provider).observe(entry.latency_ms / 1000)
    for direction, tokens in (
        ("prompt", entry.usage.prompt_tokens),
        ("completion", entry.usage.completion_tokens),
    ):
        if tokens:
            TOKENS.labels(SERVICE, entry.provider, direction).inc(tokens)


@asynccontextmanager
async def provider_call(provider: str) -> AsyncIterator[None]:
    """Time one model call and label it with its result: `ok`, or the error's stable code."""
    started, result = time.perf_counter(), "ok"
    try:
        yield
    except CdpError as error:
        result = error.code
        raise
    except Exception:
        result = "error"
        raise
    finally:
        PROVIDER_SECONDS.labels(SERVICE, provider, result).observe(time.perf_counter() - started)
