"""Generate a realistic shop and feed it through the gateway, or count it, or write it to a file.

Run:
  python -m deploy.datagen --customers 1000 --seed 7                 send to the `run` stack (make run)
  python -m deploy.datagen --customers 1000 --gateway URL --write-key KEY
  python -m deploy.datagen --customers 1000 --dry-run                counts per event name, no sending
  python -m deploy.datagen --customers 1000 --jsonl shop.jsonl       one call per line, no sending
  python -m deploy.datagen --catalog products.jsonl --customers 0    the product catalog only
The same seed (and end day) gives the same calls with the same messageIds: re-sending is deduped.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import orjson

from deploy.datagen.customers import persona_of
from deploy.datagen.feed import FeedError, FeedReport, feed_sync
from deploy.datagen.shop import Shop
from deploy.launcher.layout import PROFILES, Layout


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    shop = Shop(args.customers, args.seed, end=args.end, prefix=args.prefix, products=args.products)
    if args.catalog:
        with args.catalog.open("wb") as out:
            for product in shop.catalog.products:
                out.write(orjson.dumps(product.as_dict()) + b"\n")
        print(f"wrote {len(shop.catalog.products)} products to {args.catalog}")
    if args.dry_run:
        return _dry_run(shop)
    if args.jsonl:
        return _write_jsonl(shop, args.jsonl)
    if args.customers == 0:
        return 0
    gateway = args.gateway or f"http://127.0.0.1:{PROFILES[args.profile].gateway}"
    write_key = args.write_key or _stack_write_key(args.profile)
    if not write_key:
        print(
            f"no write key: pass --write-key, or start the {args.profile!r} stack (make run)", file=sys.stderr
        )
        return 2
    print(f"feeding {args.customers} customers (seed {args.seed}) to {gateway} …", flush=True)
    try:
        report = feed_sync(
            shop.stream(), gateway, write_key, concurrency=args.concurrency, progress=_print_progress
        )
    except FeedError as error:
        print(f"refused: {error}", file=sys.stderr)
        return 1
    print(report.summary())
    for rejection in report.rejections:
        print(f"  rejected {rejection}")
    return 1 if report.rejected or report.failed else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.datagen",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--customers", type=int, default=1000, help="how many customers (default 1000)")
    parser.add_argument("--seed", type=int, default=7, help="the shop's seed (default 7)")
    parser.add_argument("--end", type=_end_day, help="the day the history ends (default: today, 00:00 UTC)")
    parser.add_argument("--prefix", help="namespace of user, order and message ids (default s<seed>)")
    parser.add_argument("--products", type=int, default=300, help="catalog size (default 300)")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="run", help="stack whose key to use")
    parser.add_argument("--gateway", help="gateway URL (default: the profile's, e.g. http://127.0.0.1:8000)")
    parser.add_argument("--write-key", help="write key (default: CDP_BOOTSTRAP_WRITE_KEY, else the stack's)")
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight (default 4)")
    parser.add_argument("--dry-run", action="store_true", help="generate and count, send nothing")
    parser.add_argument("--jsonl", type=Path, help="write the calls to this file instead of sending them")
    parser.add_argument("--catalog", type=Path, help="also write the product catalog to this JSONL file")
    return parser


def _end_day(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _stack_write_key(profile: str) -> str | None:
    """The key the launcher uses: CDP_BOOTSTRAP_WRITE_KEY when set, else the stack's credentials file."""
    if os.environ.get("CDP_BOOTSTRAP_WRITE_KEY"):
        return os.environ["CDP_BOOTSTRAP_WRITE_KEY"]
    path = Layout.of(profile).credentials_file
    if not path.exists():
        return None
    key = json.loads(path.read_text()).get("write_key")
    return str(key) if key else None


def _dry_run(shop: Shop) -> int:
    started = time.perf_counter()
    names: Counter[str] = Counter()
    for call in shop.calls():
        names[call.get("event") or call["type"]] += 1
    seconds = time.perf_counter() - started
    total = sum(names.values())
    personas = Counter(persona_of(shop.seed, index).name for index in range(shop.customers))
    pace = total / max(seconds, 1e-9)
    print(f"{shop.customers} customers, {total} calls in {seconds:.1f} s ({pace:,.0f} calls/s generated)")
    print("personas: " + ", ".join(f"{name} {count}" for name, count in personas.most_common()))
    width = max((len(name) for name in names), default=0)
    for name, count in names.most_common():
        print(f"  {name:<{width}}  {count:>10}")
    return 0


def _write_jsonl(shop: Shop, path: Path) -> int:
    count = 0
    with path.open("wb") as out:
        for call in shop.calls():
            out.write(orjson.dumps(call) + b"\n")
            count += 1
    print(f"wrote {count} calls of {shop.customers} customers to {path}")
    return 0


def _print_progress(report: FeedReport) -> None:
    print(f"  … {report.sent} sent, {report.events_per_s:,.0f} events/s", flush=True)


if __name__ == "__main__":
    sys.exit(main())
