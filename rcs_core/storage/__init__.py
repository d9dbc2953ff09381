"""SQL of rcs_core; the only place that knows table shapes."""
