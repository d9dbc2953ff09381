"""Rapporto-compatible REST v6 gateway: ``POST /api/v6/send``, ``GET /api/v6/messages/{mtNum}``."""
