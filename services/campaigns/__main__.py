"""Campaigns service. Run: python -m services.campaigns api [--port N]"""

from cdpkit.cli import run
from services.campaigns.entrypoints.api import create_api
from services.campaigns.settings import Settings

if __name__ == "__main__":
    run(description=__doc__ or "", settings_factory=Settings, api=create_api)
