"""The baseline of the companies schema: every table as tables.py declared it at revision 0006.

A new database is created from the tables and stamped here; the revisions after this one are the only
migrations that run. Why, and how to change the schema: docs/decisions/0014-schema-baseline.md.
"""

from hubcore.migrate import baseline
from services.companies.tables import metadata

revision = "0006"
down_revision = None
upgrade, downgrade = baseline(metadata)
