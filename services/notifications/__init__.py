"""Follow-up notifications: rules from events to messages, scheduled follow-ups, email and webhooks."""
