"""What the field catalogue learns from the read model: example values, percentiles, traits, events."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from schemas.rules.catalogue import TRAIT_PREFIX, json_type_of
from schemas.rules.model import LINE_ITEMS, LINE_PREFIX
from services.segmentation.adapters.tables import SCHEMA as S

QUARTILES = (25.0, 50.0, 75.0, 90.0)
SAMPLE = 1000
EVENT_SAMPLE = 5000
EXAMPLES = 5
LINE_EXAMPLES = 20  # products, SKUs, categories and brands of order lines: a marketer picks from these


@dataclass(frozen=True)
class Observed:
    examples: dict[str, list[Any]]  # field or traits.<name> -> up to EXAMPLES distinct values
    percentiles: dict[str, dict[str, float]]  # numeric field -> {"p25": ..., ...}
    traits: dict[str, str]  # trait -> JSON type
    events: dict[str, dict[str, str]]  # event -> property -> JSON type
    # (event, property) -> distinct values seen, most frequent first: products.<key> of line items
    # (up to LINE_EXAMPLES) and flat properties (up to EXAMPLES)
    property_examples: dict[tuple[str, str], list[Any]]


async def observe(
    connection: asyncpg.Connection,
    workspace_id: str,
    text_fields: Sequence[str],
    numeric_fields: Sequence[str],
) -> Observed:
    """Look at a sample of the workspace's profiles and events, and at every profile for percentiles.

    Field names come from the catalogue (the Profile contract), never from the caller.
    """
    columns = ", ".join(["traits::text", *text_fields])
    rows = await connection.fetch(
        f"SELECT {columns} FROM {S}.profiles WHERE workspace_id = $1 LIMIT {SAMPLE}", workspace_id
    )
    examples: dict[str, list[Any]] = {}
    trait_values: dict[str, list[Any]] = {}
    for row in rows:
        for name, value in zip(text_fields, row[1:], strict=True):
            _add_example(examples.setdefault(name, []), value)
        for trait, value in (orjson.loads(row[0]) if row[0] else {}).items():
            trait_values.setdefault(trait, []).append(value)
            _add_example(examples.setdefault(TRAIT_PREFIX + trait, []), value)
    percentiles: dict[str, dict[str, float]] = {}
    if numeric_fields:
        aggregates = ", ".join(
            f"percentile_cont($2::float8[]) WITHIN GROUP (ORDER BY {name})" for name in numeric_fields
        )
        found = await connection.fetchrow(
            f"SELECT {aggregates} FROM {S}.profiles WHERE workspace_id = $1",
            workspace_id,
            [p / 100 for p in QUARTILES],
        )
        for name, values in zip(numeric_fields, found or [], strict=True):
            if values and values[0] is not None:
                percentiles[name] = {f"p{int(p)}": float(v) for p, v in zip(QUARTILES, values, strict=True)}
    return Observed(
        examples=examples,
        percentiles=percentiles,
        traits={name: json_type_of(values) for name, values in sorted(trait_values.items())},
        **await _events(connection, workspace_id),
    )


async def _events(connection: asyncpg.Connection, workspace_id: str) -> dict[str, Any]:
    """The events' names, their properties' types (line items' keys as `products.<key>`), examples."""
    names = await connection.fetch(
        f"SELECT DISTINCT name FROM {S}.customer_events WHERE workspace_id = $1 ORDER BY name LIMIT 500",
        workspace_id,
    )
    sample = await connection.fetch(
        f"SELECT name, properties::text FROM {S}.customer_events WHERE workspace_id = $1 "
        f"LIMIT {EVENT_SAMPLE}",
        workspace_id,
    )
    values: dict[str, dict[str, list[Any]]] = {row[0]: {} for row in names}
    for name, properties in sample:
        seen = values.setdefault(name, {})
        for key, value in orjson.loads(properties).items():
            seen.setdefault(key, []).append(value)
            if key == LINE_ITEMS and isinstance(value, list):
                for line in value:
                    for line_key, item in line.items() if isinstance(line, dict) else ():
                        seen.setdefault(LINE_PREFIX + line_key, []).append(item)
    return {
        "events": {
            name: {key: json_type_of(seen) for key, seen in sorted(props.items())}
            for name, props in sorted(values.items())
        },
        "property_examples": {
            (name, key): _most_frequent(seen, LINE_EXAMPLES if key.startswith(LINE_PREFIX) else EXAMPLES)
            for name, props in values.items()
            for key, seen in props.items()
        },
    }


def _most_frequent(values: list[Any], limit: int) -> list[Any]:
    counts = Counter(v for v in values if not isinstance(v, dict | list) and v is not None and v != "")
    return [value for value, _ in counts.most_common(limit)]


def _add_example(examples: list[Any], value: Any) -> None:
    fits = len(examples) < EXAMPLES and not isinstance(value, dict | list)
    if fits and value is not None and value != "" and value not in examples:
        examples.append(value)
