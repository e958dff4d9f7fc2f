from hubcore.migrate import run_env
from services.consulting.store import metadata

run_env(metadata)
