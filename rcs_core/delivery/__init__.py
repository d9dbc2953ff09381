"""Core's delivery across channels: per-channel content rules and the cascade engine."""
