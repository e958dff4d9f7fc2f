"""The investors service's store: its tables (tables), and the queries it needs, which return domain
objects (firm_queries: firms, partners, the audit log; key_queries: API keys and their calls per window;
introduction_queries: the company directory and introductions; round_queries: rounds and their figures;
sharing_queries: sharing grants and the access log; webhook_queries: webhook subscriptions, deliveries and the
worker's claim). Everything is importable from here: `store.firms`
(the table), `store.get_firm`."""

from services.investors.store.dealflow_queries import *  # noqa: F403
from services.investors.store.firm_queries import *  # noqa: F403
from services.investors.store.introduction_queries import *  # noqa: F403
from services.investors.store.key_queries import *  # noqa: F403
from services.investors.store.round_queries import *  # noqa: F403
from services.investors.store.sharing_queries import *  # noqa: F403
from services.investors.store.tables import *  # noqa: F403
from services.investors.store.webhook_queries import *  # noqa: F403
