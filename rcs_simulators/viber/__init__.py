"""Viber provider simulator: the send_message API and its signed status webhooks."""
