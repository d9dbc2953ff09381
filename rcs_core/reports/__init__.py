"""Reports to partners: the outbox, its leases, wire formats and the HTTP sender."""
