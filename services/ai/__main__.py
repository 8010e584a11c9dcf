"""Ai service. Run: python -m services.ai api [--port N]"""

from cdpkit.cli import run
from services.ai.entrypoints.api import create_api
from services.ai.settings import Settings

if __name__ == "__main__":
    run(description=__doc__ or "", settings_factory=Settings, api=create_api)
