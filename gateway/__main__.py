"""API gateway. Run: python -m gateway {api|migrate} [--port N]"""

from pathlib import Path

from cdpkit.cli import run
from gateway.entrypoints.api import create_api
from gateway.settings import Settings

if __name__ == "__main__":
    run(
        description=__doc__ or "",
        settings_factory=Settings,
        api=create_api,
        migrations=Path(__file__).parent / "migrations",
    )
