"""Message ids: positive 64-bit integers, unique across installations.

id = sequence * 1024 + installation_id. The sequence is the installation's own
(PostgreSQL ``message_seq``); the low 10 bits carry the installation id, so two
installations can never produce the same id and any id tells where it was accepted.
"""

from __future__ import annotations

INSTALLATION_BITS = 10
MAX_INSTALLATION_ID = (1 << INSTALLATION_BITS) - 1
MAX_ID = (1 << 63) - 1


def compose(sequence: int, installation_id: int) -> int:
    if not 0 <= installation_id <= MAX_INSTALLATION_ID:
        raise ValueError(f"installation id {installation_id} is outside 0..{MAX_INSTALLATION_ID}")
    return (sequence << INSTALLATION_BITS) | installation_id


def installation_of(message_id: int) -> int:
    return message_id & MAX_INSTALLATION_ID


def parse(text: str) -> int | None:
    """A decimal id string as an int, or None when it is not a valid id."""
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None
