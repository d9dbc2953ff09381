"""rcs_routing: transport settings compiled into an in-memory table that answers in µs."""
