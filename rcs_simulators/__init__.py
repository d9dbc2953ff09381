"""Simulators of the peers outside our network, speaking their real wire protocols."""
