"""rcs_core: the installation's database and the message lifecycle (accept → queue → dispatch
→ receipts → final status)."""
