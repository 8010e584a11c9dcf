"""Local stack launcher.

Run:
  python -m deploy.launcher run    start Kafka, PostgreSQL, Redis and every service; Ctrl-C stops all
  python -m deploy.launcher down   stop whatever a launcher left running (both profiles)
  python -m deploy.launcher setup  fetch what the stack needs (Kafka jars) without starting it
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from types import FrameType

from deploy.launcher.components import kafka_libs
from deploy.launcher.demo import load_demo
from deploy.launcher.layout import PROFILES, Layout
from deploy.launcher.processes import stop_leftovers
from deploy.launcher.stack import Stack


class _Stop(BaseException):
    """Raised by the signal handler; a BaseException so no `except Exception` on the way swallows it."""


def _raise_stop(signum: int, _: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def run(profile: str, demo: bool) -> int:
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    stack = Stack.for_profile(profile)
    started = time.monotonic()
    try:
        stack.up()
        ready_after = time.monotonic() - started
        marker = stack.layout.root / "demo-loaded"
        if demo and not marker.exists():
            print("loading demo data through the gateway …", flush=True)
            accepted = load_demo(stack.gateway_url, stack.credentials.write_key, stack.credentials.admin_key)
            marker.write_text(str(accepted))
            print(f"demo data: {accepted} events accepted", flush=True)
        _banner(stack, ready_after)
        reported: set[str] = set()
        parent = os.getppid()
        while True:
            if os.getppid() != parent:
                # `make` does not pass SIGTERM on to us: when it dies we are re-parented, and stop too.
                raise _Stop("parent exited")
            for proc in stack.dead():
                if proc.name not in reported:
                    reported.add(proc.name)
                    print(f"!! {proc.name} exited; see {proc.log}\n{proc.log_tail(10)}", flush=True)
            time.sleep(1)
    except (_Stop, KeyboardInterrupt):
        print("\nstopping …", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.down()
        print("stopped everything the launcher started", flush=True)


def _banner(stack: Stack, ready_after: float) -> None:
    creds = stack.credentials
    keys_note = "generated and kept in" if stack.generated_credentials else "from"
    prometheus_line = (
        f"{stack.prometheus_url}   (alerts: /alerts; point a Grafana at it, see docs/observability.md)"
        if any(proc.name == "prometheus" for proc in stack.procs)
        else "not started (no `prometheus` binary; `make setup` installs it)"
    )
    print(
        f"""
CDP is running (ready after {ready_after:.1f}s: {stack.timings})
  Gateway        {stack.gateway_url}   (API docs: {stack.gateway_url}/docs, readiness: /readyz)
  Admin API key  {creds.admin_key}
  Write key      {creds.write_key}
                 ({keys_note} {stack.layout.credentials_file})
  Kafka          {stack.env["KAFKA_BOOTSTRAP_SERVERS"]}
  PostgreSQL     {stack.env["DATABASE_URL"].split("@")[-1]}
  Redis          {stack.env["REDIS_URL"].split("@")[-1]}
  Prometheus     {prometheus_line}
  Logs           {stack.layout.logs}/
Try:
  curl -u {creds.write_key}: {stack.gateway_url}/v1/track -H 'content-type: application/json' \\
       -d '{{"userId": "u1", "event": "Product Viewed", "properties": {{"sku": "sku-100"}}}}'
  curl -H 'Authorization: Bearer {creds.admin_key}' {stack.gateway_url}/api/customers/u1
Press Ctrl-C to stop everything.""",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["run", "down", "setup"])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="run")
    parser.add_argument("--no-demo", action="store_true", help="do not load the demo shop on first start")
    args = parser.parse_args()
    if args.command == "setup":
        print(f"Kafka jars in {kafka_libs()}")
        return 0
    if args.command == "down":
        for profile in PROFILES:
            stopped = stop_leftovers(Layout.of(profile).pids)
            print(f"{profile}: stopped {', '.join(stopped) or 'nothing'}")
        return 0
    return run(args.profile, demo=not args.no_demo)


if __name__ == "__main__":
    sys.exit(main())
