from cdpkit.migrations import run_env
from services.profile.adapters.tables import metadata

run_env(metadata)
