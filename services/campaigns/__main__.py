"""Campaigns service. Run: python -m services.campaigns {api|worker|migrate} [--port N]"""

from pathlib import Path

from cdpkit.cli import run
from services.campaigns.entrypoints.api import create_api
from services.campaigns.entrypoints.worker import create_worker
from services.campaigns.settings import Settings

if __name__ == "__main__":
    run(
        description=__doc__ or "",
        settings_factory=Settings,
        api=create_api,
        worker=create_worker,
        migrations=Path(__file__).parent / "migrations",
    )
