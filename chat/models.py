"""Chat: rooms, memberships and encrypted envelopes (models arrive with the messaging work)."""
