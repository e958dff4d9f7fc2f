from hubcore.migrate import run_env
from services.notifications.store import metadata

run_env(metadata)
