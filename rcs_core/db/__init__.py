"""The installation database: migrations, partitions, maintenance, locks, idempotency."""
