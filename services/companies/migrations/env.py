from hubcore.migrate import run_env
from services.companies.tables import metadata

run_env(metadata)
