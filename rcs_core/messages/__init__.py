"""Accepting messages: validation, ids, concatenation, the partner-facing servicer."""
