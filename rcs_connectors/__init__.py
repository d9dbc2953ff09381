"""Operator-side connectors: they hand messages to operators and bring receipts back."""
