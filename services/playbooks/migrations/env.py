from hubcore.migrate import run_env
from services.playbooks.tables import metadata

run_env(metadata)
