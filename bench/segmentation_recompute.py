"""A segment's full recompute over 1,000,000 profiles against the equivalent hand-written SQL, same run.

Run: .venv/bin/python -m bench.segmentation_recompute [--stack-profile bench-b] [--profiles N] [--rounds R]

Loads `--profiles` synthetic profiles into the read model (`segmentation.profiles`, one workspace;
kept between runs), then for each rule below, in alternating rounds:
- hand-written: the service's one-statement recompute (`MembershipStore.recompute`: select, diff with
  the current members, open rows of new members, close rows of members gone, return the changes)
  around a WHERE clause written by hand;
- compiled: the same recompute around the rule compiler's WHERE clause, as the service runs it;
- and `count(*)` of the hand-written and of the compiled member query: the selection alone, the
  least any recompute must do (`recompute_vs_hand_count` relates the whole recompute to it).
Memberships are in place (the first recompute, which enters everyone, is timed once and reported
apart), so a round measures what every later recompute and the sweep pay: select and diff, nothing
changed. Targets (issue #6): compiled ≤ 1.5 x hand-written, and < 1 s.
Results: stdout and bench/results/segmentation_recompute.json.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from bench.harness import log, on_stack, save_result
from deploy.launcher.stack import Stack
from schemas.rules import FieldCatalogue, parse_rule
from services.segmentation.adapters.memberships import MembershipStore
from services.segmentation.domain.sql import compile_rule, count_query, member_query

RESULTS = Path(__file__).parent / "results" / "segmentation_recompute.json"
WORKSPACE = "bench-recompute"
STATES = ["CA", "NY", "TX", "WA", "FL", "IL", "ca", "ny", "Tx", "OR"]

# name → (rule, hand-written WHERE over `p` with $1 workspace and $2 now, its parameters from $3)
RULES: dict[str, tuple[dict[str, Any], str, list[Any]]] = {
    "lifetime_value >= 500": (
        {"field": "lifetime_value", "op": "gte", "value": 500},
        "p.workspace_id = $1 AND $2::timestamptz IS NOT NULL AND p.lifetime_value >= 500",
        [],
    ),
    "five conditions": (
        {
            "all": [
                {"field": "lifetime_value", "op": "between", "value": [100, 2000]},
                {"field": "orders_count", "op": "gte", "value": 2},
                {"field": "state", "op": "in", "value": ["CA", "NY", "TX"]},
                {"field": "last_order_at", "op": "within_last_days", "value": 180},
                {"not": {"field": "traits.vip", "op": "eq", "value": True}},
            ]
        },
        "p.workspace_id = $1 AND p.lifetime_value BETWEEN 100 AND 2000 AND p.orders_count >= 2 "
        "AND lower(p.state) IN ('ca', 'ny', 'tx') "
        "AND p.last_order_at >= $2::timestamptz - interval '180 days' AND p.last_order_at <= $2 "
        "AND (p.traits -> 'vip') IS DISTINCT FROM 'true'::jsonb",
        [],
    ),
    "top decile by lifetime value": (
        {"field": "lifetime_value", "op": "gte", "value": {"percentile": 90}},
        "p.workspace_id = $1 AND $2::timestamptz IS NOT NULL AND p.lifetime_value >= (SELECT "
        "percentile_cont(0.9) WITHIN GROUP (ORDER BY lifetime_value) FROM segmentation.profiles "
        "WHERE workspace_id = $1)",
        [],
    ),
}


def rows(count: int, now: datetime) -> list[tuple[Any, ...]]:
    """Synthetic profiles: the columns a rule reads, plus ids."""
    rng = random.Random(6)
    made = []
    for n in range(count):
        ordered = rng.random() < 0.7
        made.append(
            (
                WORKSPACE,
                f"c{n:07d}",
                1,
                f"u{n}",
                f"u{n}@bench.example",
                rng.choice(STATES),
                round(rng.expovariate(1 / 300), 2) if ordered else 0.0,
                rng.randint(1, 20) if ordered else 0,
                now - timedelta(days=rng.uniform(0, 400)) if ordered else None,
                rng.randint(1, 500),
                now - timedelta(days=500),
                now - timedelta(days=rng.uniform(0, 30)),
                orjson.dumps({"vip": rng.random() < 0.1, "plan": rng.choice(["free", "pro"])}).decode(),
                "[]",
            )
        )
    return made


COLUMNS = [
    "workspace_id",
    "customer_id",
    "version",
    "user_id",
    "email",
    "state",
    "lifetime_value",
    "orders_count",
    "last_order_at",
    "events_count",
    "first_seen_at",
    "last_seen_at",
    "traits",
    "anonymous_ids",
]


async def load(connection: asyncpg.Connection, count: int) -> None:
    have = await connection.fetchval(
        "SELECT count(*) FROM segmentation.profiles WHERE workspace_id = $1", WORKSPACE
    )
    if have == count:
        log(f"{count} profiles already loaded")
        return
    await connection.execute("DELETE FROM segmentation.profiles WHERE workspace_id = $1", WORKSPACE)
    await connection.execute("DELETE FROM segmentation.memberships WHERE workspace_id = $1", WORKSPACE)
    began = time.perf_counter()
    await connection.copy_records_to_table(
        "profiles", schema_name="segmentation", records=rows(count, datetime.now(UTC)), columns=COLUMNS
    )
    await connection.execute("VACUUM ANALYZE segmentation.profiles")
    log(f"loaded {count} profiles in {time.perf_counter() - began:.1f} s")


async def timed(connection: asyncpg.Connection, sql: str, *args: Any) -> tuple[float, int]:
    """Seconds and rows of one statement, in its own transaction (committed)."""
    began = time.perf_counter()
    async with connection.transaction():
        found = await connection.fetch(sql, *args)
    return time.perf_counter() - began, len(found)


async def recompute(
    connection: asyncpg.Connection, members: str, params: list[Any], segment: str, now: datetime
) -> tuple[float, int]:
    """Seconds and changes of the service's own recompute around `members`, in its own transaction."""
    began = time.perf_counter()
    async with connection.transaction():
        changes = await MembershipStore(connection).recompute(members, params, WORKSPACE, segment, now)
    return time.perf_counter() - began, len(changes)


async def bench_rule(connection: asyncpg.Connection, name: str, rounds: int, now: datetime) -> dict[str, Any]:
    rule, where, params = RULES[name]
    compiled = compile_rule(parse_rule(rule, FieldCatalogue()))
    by_hand = f"SELECT p.customer_id FROM segmentation.profiles p WHERE {where}"
    segment = f"bench:{name}"
    await connection.execute(
        "DELETE FROM segmentation.memberships WHERE workspace_id = $1 AND segment_id = $2", WORKSPACE, segment
    )
    first_s, entered = await recompute(connection, member_query(compiled), compiled.params, segment, now)
    log(f"{name}: first recompute entered {entered} in {first_s:.3f} s")
    figures: dict[str, list[float]] = {k: [] for k in ("hand_recompute", "recompute", "hand_count", "count")}
    for number in range(rounds):
        recomputes = [
            ("hand_recompute", by_hand, params),
            ("recompute", member_query(compiled), compiled.params),
        ]
        counts = [
            ("hand_count", f"SELECT count(*) FROM ({by_hand}) s", [WORKSPACE, now, *params]),
            ("count", count_query(compiled), [WORKSPACE, now, *compiled.params]),
        ]
        if number % 2:
            recomputes.reverse()
            counts.reverse()
        for key, members, args in recomputes:
            seconds, changed = await recompute(connection, members, args, segment, now)
            assert changed == 0, f"{key} changed {changed} memberships: the two queries disagree"
            figures[key].append(seconds)
        for key, sql, args in counts:
            figures[key].append((await timed(connection, sql, *args))[0])
    members = await connection.fetchval(count_query(compiled), WORKSPACE, now, *compiled.params)
    median = {k: statistics.median(v) * 1000 for k, v in figures.items()}
    return {
        "rule": name,
        "members": members,
        "first_recompute_ms": round(first_s * 1000, 1),
        "hand_written_recompute_ms": round(median["hand_recompute"], 1),
        "compiled_recompute_ms": round(median["recompute"], 1),
        "recompute_ratio": round(median["recompute"] / median["hand_recompute"], 3),
        "hand_written_count_ms": round(median["hand_count"], 1),
        "compiled_count_ms": round(median["count"], 1),
        "count_ratio": round(median["count"] / median["hand_count"], 3),
        "recompute_vs_hand_count": round(median["recompute"] / median["hand_count"], 3),
    }


async def measure(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    dsn = stack.env["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn)
    try:
        await load(connection, args.profiles)
        now = datetime.now(UTC)
        results = []
        for name in RULES:
            results.append(await bench_rule(connection, name, args.rounds, now))
            print(json.dumps(results[-1]), flush=True)
        return {"profiles": args.profiles, "rounds": args.rounds, "rules": results}
    finally:
        await connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack-profile", default="bench-b", help="launcher profile of the stack")
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    # Only PostgreSQL is measured: the workers would only compete for the cores.
    result = on_stack(args.stack_profile, lambda stack: measure(stack, args))
    save_result(RESULTS, result, "services/segmentation", "schemas/rules")
    for r in result["rules"]:
        met = r["recompute_ratio"] <= 1.5 and r["compiled_recompute_ms"] < 1000
        print(
            f"{r['rule']}: {r['members']} members; recompute {r['compiled_recompute_ms']} ms vs hand-written "
            f"{r['hand_written_recompute_ms']} ms (x{r['recompute_ratio']}, {'met' if met else 'NOT met'}); "
            f"count {r['compiled_count_ms']} vs {r['hand_written_count_ms']} ms (x{r['count_ratio']})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
