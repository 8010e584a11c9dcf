"""The command line every service shares: `python -m services.<name> {api|worker|migrate}`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from fastapi import FastAPI

from cdpkit.http import serve
from cdpkit.logging import configure_logging
from cdpkit.migrations import upgrade
from cdpkit.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)


def run(
    *,
    description: str,
    settings_factory: Callable[[], S],
    api: Callable[[S], FastAPI],
    worker: Callable[[S], FastAPI] | None = None,
    migrations: Path | None = None,
    argv: list[str] | None = None,
) -> None:
    """Parse the command and run it; settings are read from the environment here, not at import."""
    parser = argparse.ArgumentParser(description=description)
    commands = ["api"] + (["worker"] if worker else []) + (["migrate"] if migrations else [])
    parser.add_argument("command", choices=commands)
    parser.add_argument("--port", type=int, help="HTTP port (default: the service's HTTP_PORT setting)")
    args = parser.parse_args(argv)
    settings = settings_factory()
    if args.port:
        settings.http_port = args.port
    if args.command == "migrate":
        assert migrations is not None
        configure_logging(settings.service_name, settings.log_level)
        upgrade(migrations, settings)
    elif args.command == "worker":
        assert worker is not None
        serve(lambda: worker(settings), settings)
    else:
        serve(lambda: api(settings), settings)
