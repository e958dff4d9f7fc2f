"""The consulting service's tables and the queries it needs, one module per area, typed: every query returns
domain objects. This package shows them as one namespace (`store.get_session`, `store.bookings`).

Double booking is closed in the database: see store.tables (the bookings table and its exclusion constraint)
and store.sessions (reserve, release, find_conflict, is_overlap).
"""

from services.consulting.store.gpu import *  # noqa: F403
from services.consulting.store.programs import *  # noqa: F403
from services.consulting.store.resources import *  # noqa: F403
from services.consulting.store.sessions import *  # noqa: F403
from services.consulting.store.tables import *  # noqa: F403
