"""Telegram simulator (the Gateway API's shape): sendMessage and its signed status reports."""
