"""Subscriber number normalisation: whatever partners send → international digits."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-().]")
_DIGITS = re.compile(r"[0-9]{10,15}")  # ASCII only: str.isdigit() takes any script's digits


def normalize_msisdn(raw: str) -> str | None:
    """'+7 (916) 123-45-67', '8-916-123-45-67', '79161234567' → '79161234567'.

    Russian trunk prefix 8 on an 11-digit number becomes country code 7 (Rapporto accepts
    '8', '7' and '+7'). Returns None when the result is not 10–15 digits.
    """
    # Already international digits, as nearly every gateway sends: skip the regexes.
    if (
        10 <= len(raw) <= 15
        and raw.isascii()
        and raw.isdigit()
        and raw[0] != "0"
        and (len(raw) != 11 or raw[0] != "8")
    ):
        return raw
    number = _SEPARATORS.sub("", raw.strip())
    if number.startswith("+"):
        number = number[1:]
    elif number.startswith("00"):
        number = number[2:]
    elif len(number) == 11 and number.startswith("8"):
        number = "7" + number[1:]
    if not _DIGITS.fullmatch(number) or number[0] == "0":
        return None
    return number
