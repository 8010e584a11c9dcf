from cdpkit.migrations import run_env
from services.campaigns.adapters.tables import metadata

run_env(metadata)
