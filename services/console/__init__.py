"""The hub console: the web application program managers, founders and mentors work in. A backend for the
browser: it owns no business data and calls the services over gRPC with the signed-in person's own token, so
every rule, scope and audit stays in the services. It keeps only the browser's session, in an encrypted cookie."""
