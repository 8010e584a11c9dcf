from cdpkit.migrations import run_env
from services.segmentation.adapters.tables import metadata

run_env(metadata)
