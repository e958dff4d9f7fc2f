"""The shared runtime every Hub CRM service imports: settings, logs, database, events, gRPC bootstrap."""
