"""Clients of the push services, each on its real wire protocol."""
