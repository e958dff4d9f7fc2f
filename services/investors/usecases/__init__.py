"""The investors service's use cases: plain async functions that take a unit of work (writes) or the
Database (reads) and plain values, call the domain and the store, emit events, and return domain objects.
Both servicers and the event handlers call them, so every path to a change is the same path.

firms: firms, partners, API keys, the partner API's audit log; introductions: introductions, what a partner
sees of them, matching; rounds: funding rounds and the dashboard's figures."""

SUBJECT = "hub.investors"
