"""Inbound (MO) traffic: routes, sessions and replies."""
