"""Local SMTP sink. Run: python -m deploy.launcher.smtp_sink api   (SMTP on SMTP_PORT, HTTP on HTTP_PORT)"""

from cdpkit.cli import run
from deploy.launcher.smtp_sink.settings import Settings
from deploy.launcher.smtp_sink.sink import create_sink

if __name__ == "__main__":
    run(description=__doc__ or "", settings_factory=Settings, api=create_sink)
