"""Mailings: bulk sends fed into the ordinary pipeline at their rate (issue 18)."""
