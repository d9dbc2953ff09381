"""Transport settings: the SettingsService, its policies and revisions store."""
