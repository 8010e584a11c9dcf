"""Segmentation service. Run: python -m services.segmentation api [--port N]"""

from cdpkit.cli import run
from services.segmentation.entrypoints.api import create_api
from services.segmentation.settings import Settings

if __name__ == "__main__":
    run(description=__doc__ or "", settings_factory=Settings, api=create_api)
