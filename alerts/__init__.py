"""Subscribing to the alert topics: follow them from now, the beginning or a date."""
