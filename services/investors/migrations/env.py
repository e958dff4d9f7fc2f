from hubcore.migrate import run_env
from services.investors.store import metadata

run_env(metadata)
