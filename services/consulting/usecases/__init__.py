"""The consulting service's use cases: plain async functions over a unit of work (writes) or the database
(reads), called by the servicer (api.py) and the event handlers alike. One module per area; booking.py holds
what they share, including the write transaction that books time."""
