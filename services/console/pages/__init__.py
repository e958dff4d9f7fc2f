"""The console's pages: each handler reads its form or query, calls the services as the signed-in person and
renders a template. No rule lives here; the services decide, and a refusal is shown in words (web.refused)."""
