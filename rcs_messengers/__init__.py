"""The messenger service: ConnectorService for messenger channels (Viber so far)."""
