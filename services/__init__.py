"""Hub CRM services; each owns its data and never imports another."""
