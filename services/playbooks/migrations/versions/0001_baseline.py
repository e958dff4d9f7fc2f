"""The baseline of the playbooks schema: every table as tables.py declared it at revision 0001.

A new database is created from the tables and stamped here; the revisions after this one are the only
migrations that run. Why, and how to change the schema: docs/decisions/0014-schema-baseline.md.
"""

from hubcore.migrate import baseline
from services.playbooks.store import metadata

revision = "0001"
down_revision = None
upgrade, downgrade = baseline(metadata)
