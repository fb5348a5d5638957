"""The published language shared by every service: envelope, events, topics, policies."""
