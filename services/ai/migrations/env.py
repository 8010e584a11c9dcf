from cdpkit.migrations import run_env
from services.ai.adapters.tables import metadata

run_env(metadata)
