"""The local tooling: what `make run`, `hubctl backup` and the tests need on one machine (the launcher, a
nats-server from the wheel, an SMTP sink, the data directory's lock, backup and restore, a self-signed
certificate). No service imports it, and it never runs in the service image's processes; it may import the
services (the launcher's seeders), which hubcore never does."""
