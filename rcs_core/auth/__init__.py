"""Partners' authentication: passwords, API keys, failed logins, SMPP session slots."""
