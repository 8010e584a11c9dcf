"""Ai service. Run: python -m services.ai {api|worker|migrate} [--port N]"""

from pathlib import Path

from cdpkit.cli import run
from services.ai.entrypoints.api import create_api
from services.ai.entrypoints.worker import create_worker
from services.ai.settings import Settings

if __name__ == "__main__":
    run(
        description=__doc__ or "",
        settings_factory=Settings,
        api=create_api,
        worker=create_worker,
        migrations=Path(__file__).parent / "migrations",
    )
