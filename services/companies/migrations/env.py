from hubcore.migrate import run_env
from services.companies.store import metadata

run_env(metadata)
