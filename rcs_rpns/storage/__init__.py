"""SQL of the installation database (migration 0040)."""
