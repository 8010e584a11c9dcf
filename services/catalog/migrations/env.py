from cdpkit.migrations import run_env
from services.catalog.adapters.tables import metadata

run_env(metadata)
