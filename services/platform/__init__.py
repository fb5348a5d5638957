"""Plumbing every service uses: settings, database, event store with outbox, relay, consumers,
clock and HTTP conventions. No business rules live here."""
