"""Ingest service. Run: python -m services.ingest {api|migrate} [--port N]"""

from pathlib import Path

from cdpkit.cli import run
from services.ingest.entrypoints.api import create_api
from services.ingest.settings import Settings

if __name__ == "__main__":
    run(
        description=__doc__ or "",
        settings_factory=Settings,
        api=create_api,
        migrations=Path(__file__).parent / "migrations",
    )
