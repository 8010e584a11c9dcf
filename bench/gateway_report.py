"""The gateway benchmark's figures: medians of rounds, costs against the targets, and the table."""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.gateway_overhead import Endpoint, Round

TARGET_THROUGHPUT_COST = 0.15
TARGET_ADDED_P50_MS = 2.0


def _median(rounds: list[Round], attribute: str) -> float:
    return statistics.median(getattr(r, attribute) for r in rounds) if rounds else float("nan")


def summarise(endpoint: Endpoint, rounds: list[Round]) -> dict[str, Any]:
    def pick(kind: str, mode: str) -> list[Round]:
        return [r for r in rounds if r.endpoint == endpoint.key and r.kind == kind and r.mode == mode]

    out: dict[str, Any] = {"label": endpoint.label}
    for mode in ("direct", "gateway"):
        latency, throughput = pick("latency", mode), pick("throughput", mode)
        cpu_roles = sorted({role for r in throughput for role in r.cpu_ms_per_request})
        out[mode] = {
            "p50_ms": round(_median(latency, "p50_ms"), 3),
            "p95_ms": round(_median(latency, "p95_ms"), 3),
            "p99_ms": round(_median(latency, "p99_ms"), 3),
            "rps": round(_median(throughput, "rps"), 1),
            "events_per_s": round(_median(throughput, "events_per_s"), 1),
            "saturated_p50_ms": round(_median(throughput, "p50_ms"), 2),
            "cpu_ms_per_request": {
                role: round(statistics.median(r.cpu_ms_per_request.get(role, 0.0) for r in throughput), 3)
                for role in cpu_roles
            },
            "errors": sum(r.errors for r in rounds if r.endpoint == endpoint.key and r.mode == mode),
        }
    direct, gateway = out["direct"], out["gateway"]
    cost = 1 - gateway["rps"] / direct["rps"] if direct["rps"] else float("nan")
    added = gateway["p50_ms"] - direct["p50_ms"]

    def pairs(kind: str) -> list[tuple[Round, Round]]:
        by_pair = {r.pair: r for r in pick(kind, "direct")}
        return [(by_pair[g.pair], g) for g in pick(kind, "gateway") if g.pair in by_pair]

    pair_costs = [1 - g.rps / d.rps for d, g in pairs("throughput") if d.rps]
    pair_added = [g.p50_ms - d.p50_ms for d, g in pairs("latency")]
    # A latency pair is one interleaved round: the two ways saw the same moments, so the difference
    # within each round is what the gateway adds; a difference of medians would mix rounds.
    if pair_added:
        added = statistics.median(pair_added)
    out["throughput_cost"] = round(cost, 4)
    # Secondary, less sensitive to other work on the machine: the capacity lost when the server side is
    # CPU-bound, from the CPU the whole bench stack spends per request (process CPU times).
    stack_direct = direct["cpu_ms_per_request"].get("stack", 0.0)
    stack_gateway = gateway["cpu_ms_per_request"].get("stack", 0.0)
    out["cpu_based_cost"] = round(1 - stack_direct / stack_gateway, 4) if stack_gateway else None
    out["throughput_cost_per_pair"] = [round(c, 4) for c in pair_costs]
    out["added_p50_ms"] = round(added, 3)
    out["added_p50_ms_per_pair"] = [round(a, 3) for a in pair_added]
    out["gateway_cpu_ms_per_request"] = gateway["cpu_ms_per_request"].get("gateway", 0.0)
    out["disturbed_pairs_used"] = len(
        {(r.kind, r.pair) for r in rounds if r.endpoint == endpoint.key and r.disturbed}
    )
    out["meets_throughput_target"] = cost <= TARGET_THROUGHPUT_COST
    out["meets_latency_target"] = added <= TARGET_ADDED_P50_MS
    return out


def render(result: dict[str, Any]) -> str:
    meta = result["meta"]
    lines = [
        "",
        f"Gateway overhead — {meta['date']}  commit {meta['commit']}"
        f"{' (dirty tree)' if meta['dirty'] else ''}  nproc {meta['nproc']}",
        f"{meta['rounds']} rounds x {meta['duration_s']:g} s per way, interleaved; latency at concurrency 1, "
        f"throughput at concurrency {meta['concurrency']}; medians of rounds",
    ]
    for summary in result["endpoints"].values():
        d, g = summary["direct"], summary["gateway"]
        ok_cost = "ok" if summary["meets_throughput_target"] else "MISSED"
        ok_p50 = "ok" if summary["meets_latency_target"] else "MISSED"
        pairs = summary["throughput_cost_per_pair"]
        spread = f"pairs {min(pairs) * 100:.1f}..{max(pairs) * 100:.1f} %" if pairs else ""
        lines += [
            "",
            summary["label"],
            f"  {'':28}{'direct':>12}{'gateway':>12}",
            f"  {'p50 latency (ms)':28}{d['p50_ms']:12.2f}{g['p50_ms']:12.2f}"
            f"   added p50 {summary['added_p50_ms']:+.2f} ms (target <= {TARGET_ADDED_P50_MS:g}) {ok_p50}",
            f"  {'p95 latency (ms)':28}{d['p95_ms']:12.2f}{g['p95_ms']:12.2f}",
            f"  {'p99 latency (ms)':28}{d['p99_ms']:12.2f}{g['p99_ms']:12.2f}",
            f"  {'throughput (req/s)':28}{d['rps']:12.1f}{g['rps']:12.1f}"
            f"   cost {summary['throughput_cost'] * 100:.1f} % "
            f"(target <= {TARGET_THROUGHPUT_COST * 100:g} %) {ok_cost}; {spread}",
        ]
        if summary["cpu_based_cost"] is not None:
            lines.append(
                f"  {'':52}CPU-based cost {summary['cpu_based_cost'] * 100:.1f} % "
                "(1 - stack CPU/request direct / via gateway)"
            )
        if d["events_per_s"]:
            lines.append(f"  {'throughput (events/s)':28}{d['events_per_s']:12.0f}{g['events_per_s']:12.0f}")
        for role in ("gateway", "service", "stack", "loadgen", "machine"):
            if role in d["cpu_ms_per_request"] or role in g["cpu_ms_per_request"]:
                lines.append(
                    f"  {f'CPU ms/request: {role}':28}{d['cpu_ms_per_request'].get(role, 0.0):12.2f}"
                    f"{g['cpu_ms_per_request'].get(role, 0.0):12.2f}"
                )
        lines.append(f"  {'errors':28}{d['errors']:12d}{g['errors']:12d}")
        if summary["disturbed_pairs_used"]:
            lines.append(
                f"  WARNING: {summary['disturbed_pairs_used']} of the pairs used were disturbed by other "
                "work on the machine (see foreign_cpu_share in the JSON)"
            )
    if result["errors"]:
        lines += [
            "",
            "!" * 100,
            f"!!! {result['errors']} FAILED REQUESTS — THESE RESULTS ARE NOT VALID "
            "(see error_samples in the JSON)",
            "!" * 100,
        ]
    return "\n".join(lines)
