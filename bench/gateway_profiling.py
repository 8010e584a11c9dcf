"""py-spy on the gateway during one extra throughput round: where its CPU goes."""

from __future__ import annotations

import asyncio
import collections
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.harness import log
from deploy.launcher.layout import REPO, STATE

if TYPE_CHECKING:
    from bench.gateway_overhead import Endpoint, Runner


# Stages of a proxied request, found by a frame anywhere in a sampled stack (file paths as py-spy
# shortens them). py-spy --nonblocking truncates some stacks, so these are lower bounds.
PROFILES_DIR = STATE / "bench" / "profiles"  # raw py-spy stacks: large, kept out of the repository
PROFILE_STAGES = {
    "upstream request (the gateway's HTTP client)": ("(gateway/adapters/upstream_http",),
    "server-side HTTP (uvicorn)": ("(uvicorn/",),
    "Redis calls (rate limiter)": ("(redis/",),
    "PostgreSQL (key lookups on cache misses)": ("(sqlalchemy/", "(asyncpg/"),
    "edge middleware (request id, metrics, limits, headers)": (
        "(cdpkit/http",
        "(cdpkit/metrics",
        "(gateway/middleware",
    ),
    "proxied routes (auth, guard, forward)": ("(gateway/entrypoints/proxied",),
    "FastAPI/Starlette (inclusive)": ("(fastapi/", "(starlette/"),
}


def summarise_profile(raw: Path, top: int = 15) -> dict[str, Any]:
    """Where the gateway's CPU goes, from py-spy's raw (collapsed) stacks."""
    self_time: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    by_package: collections.Counter[str] = collections.Counter()
    stages: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if f and not f.startswith("process ")]
        if not frames:
            continue
        total += count
        self_time[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
        for stage, needles in PROFILE_STAGES.items():
            if any(needle in frame for frame in frames for needle in needles):
                stages[stage] += count
        leaf_file = frames[-1].rpartition("(")[2].split(":")[0]
        by_package[leaf_file.split("/")[0] if "/" in leaf_file else f"stdlib:{leaf_file}"] += count

    def share(counter: collections.Counter[str], n: int) -> list[tuple[str, float]]:
        return [(name, round(100 * c / total, 1)) for name, c in counter.most_common(n)] if total else []

    packages: collections.Counter[str] = collections.Counter()
    for name, c in by_package.items():
        packages[name.split(".")[0] if name.startswith("stdlib:") else name] += c
    repo_frames = collections.Counter(
        {frame: c for frame, c in inclusive.items() if "(gateway/" in frame or "(cdpkit/" in frame}
    )
    return {
        "samples": total,
        "stages_pct": {
            stage: round(100 * stages[stage] / total, 1) if total else 0.0 for stage in PROFILE_STAGES
        },
        "self_by_package_pct": share(packages, top),
        "self_by_function_pct": share(self_time, top),
        "inclusive_repo_functions_pct": share(repo_frames, top),
    }


def _py_spy() -> str | None:
    """py-spy from this virtualenv, else from PATH."""
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


async def profile_gateway(runner: Runner, endpoint: Endpoint, gateway_pid: int) -> dict[str, Any] | None:
    py_spy = _py_spy()
    if py_spy is None:
        log("py-spy not found; skipping the profile (pip install py-spy into .venv)")
        return None
    PROFILES_DIR.mkdir(parents=True, exist_ok=True)
    out = PROFILES_DIR / f"gateway_profile_{endpoint.key}.txt"
    duration = max(5, int(runner.settings.duration_s))
    spy = await asyncio.create_subprocess_exec(
        py_spy,
        "record",
        "--pid",
        str(gateway_pid),
        "--duration",
        str(duration),
        "--rate",
        "250",
        "--nonblocking",
        "--format",
        "raw",
        "--output",
        str(out),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    await asyncio.sleep(0.5)
    await runner.one(endpoint, "gateway", "profiled", runner.settings.concurrency, duration)
    _, stderr = await spy.communicate()
    if spy.returncode != 0 or not out.exists():
        log(f"py-spy failed: {stderr.decode(errors='replace')[-500:]}")
        return None
    summary = summarise_profile(out)
    summary["raw_file"] = str(out.relative_to(REPO))
    return summary


def render_profile(key: str, summary: dict[str, Any]) -> str:
    lines = ["", f"py-spy on the gateway during a {key} throughput round ({summary['samples']} samples)"]
    lines.append(
        "  self time by package: " + ", ".join(f"{n} {p}%" for n, p in summary["self_by_package_pct"])
    )
    lines.append("  share of samples whose stack is in:")
    lines += [f"    {p:5.1f} %  {n}" for n, p in summary["stages_pct"].items()]
    lines.append("  self time, top functions:")
    lines += [f"    {p:5.1f} %  {n}" for n, p in summary["self_by_function_pct"][:10]]
    return "\n".join(lines)
