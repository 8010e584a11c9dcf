"""Ingest service. Run: python -m services.ingest {api|migrate} [--port N]

`api` runs `HTTP_WORKERS` processes (2 by default) sharing the port; see entrypoints/workers.py.
"""

import argparse
import socket
import sys
from pathlib import Path

from cdpkit.cli import run
from services.ingest.entrypoints.api import create_api
from services.ingest.entrypoints.workers import serve_workers
from services.ingest.settings import Settings


def main() -> None:
    settings = Settings()
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("command", nargs="?")
    parser.add_argument("--port", type=int)
    given, rest = parser.parse_known_args()
    if given.command == "api" and not rest and settings.http_workers > 1 and hasattr(socket, "SO_REUSEPORT"):
        settings.http_port = given.port or settings.http_port
        sys.exit(serve_workers(settings))
    # One process (or `migrate`, or --help): the command line every service shares.
    run(
        description=__doc__ or "",
        settings_factory=Settings,
        api=create_api,
        migrations=Path(__file__).parent / "migrations",
        argv=sys.argv[1:],
    )


if __name__ == "__main__":
    main()
