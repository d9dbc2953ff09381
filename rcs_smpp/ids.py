"""Operator message ids in a canonical form, so a receipt always finds its message.

Operators write the same id differently in different places: ``submit_sm_resp`` may say
``"0A1B2C"`` and the receipt ``"a1b2c"``, or give the id in hex in one and in decimal in the
other (``"1a2b"`` vs ``"6699"``).

The rule:

1. ``normalize_message_id(raw)``: strip surrounding whitespace (and NULs), lower-case, strip
   leading zeros; an id made only of zeros becomes ``"0"``; an empty id stays ``""``.
2. ``message_id_variants(raw)``: the set of canonical keys the id may stand for:
   - the normalised id itself;
   - if it consists only of hex digits ``[0-9a-f]``: the decimal value of it read as hex;
   - if it consists only of decimal digits ``[0-9]``: its value written in hex (lower case).
   Every variant is itself normalised; ids over 64 characters get no numeric variants.
   A decimal-looking id is also valid hex, so it has up
   to two alternates (e.g. ``"100"`` -> {``"100"``, ``"64"``, ``"256"``}).

Store a message under its normalised id and its variants (or look up with the variants of
the receipt's id): two spellings match when their variant sets intersect.
"""

from __future__ import annotations

from typing import Final

_HEX: Final = frozenset("0123456789abcdef")
_DEC: Final = frozenset("0123456789")
# SMPP message ids are at most 64 characters; longer input is not converted (and int() would
# refuse very long digit strings anyway).
_MAX_NUMERIC: Final = 64


def normalize_message_id(raw: str) -> str:
    """Trimmed, lower case, no leading zeros (``"0"`` for an all-zero id)."""
    text = raw.strip(" \t\r\n\0").lower()
    if not text:
        return ""
    return text.lstrip("0") or "0"


def message_id_variants(raw: str) -> set[str]:
    """The normalised id plus its hex/decimal readings (see the module docstring)."""
    key = normalize_message_id(raw)
    if not key:
        return set()
    variants = {key}
    if len(key) > _MAX_NUMERIC:
        return variants
    if _HEX.issuperset(key):
        variants.add(str(int(key, 16)))
    if _DEC.issuperset(key):
        variants.add(format(int(key), "x"))
    return variants
