"""GSM 03.38 (3GPP TS 23.038) default alphabet and its extension table, as SMPP carries it
with data_coding 0: one septet per octet, unpacked, extension characters as 0x1B + code.
"""

from __future__ import annotations

from typing import Final

from rcs_smpp.errors import TextDecodeError, TextEncodeError

ESCAPE: Final = 0x1B

# Index = septet value. Position 0x1B is the escape, never a character of its own.
BASIC: Final = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
EXTENSION: Final[dict[int, str]] = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

# Encoding goes through str.translate into a Latin-1 string of septet values; characters
# outside the alphabet become U+FFFF so the final .encode("latin-1") refuses them.
_NOT_GSM: Final = "\uffff"
_ENCODE: Final[dict[int, str]] = {code: _NOT_GSM for code in range(256)}
_ENCODE.update({ord(ch): chr(i) for i, ch in enumerate(BASIC) if i != ESCAPE})
_ENCODE.update({ord(ch): f"\x1b{chr(code)}" for code, ch in EXTENSION.items()})
_DECODE: Final[dict[int, str]] = {i: ch for i, ch in enumerate(BASIC)}
_EXTENSION_CHARS: Final = frozenset(EXTENSION.values())
_ALL_CHARS: Final = frozenset(BASIC.replace("\x1b", "")) | _EXTENSION_CHARS


def is_gsm(text: str) -> bool:
    """Every character is in the default alphabet or its extension table."""
    return _ALL_CHARS.issuperset(text)


def septet_count(text: str) -> int:
    """Septets ``text`` takes in GSM 03.38 (extension characters count twice)."""
    return len(text) + sum(ch in _EXTENSION_CHARS for ch in text)


def gsm_encode(text: str) -> bytes:
    try:
        return text.translate(_ENCODE).encode("latin-1")
    except UnicodeEncodeError:
        bad = next(ch for ch in text if ch not in _ALL_CHARS)
        raise TextEncodeError(f"{bad!r} (U+{ord(bad):04X}) is not in GSM 03.38") from None


def gsm_decode(data: bytes) -> str:
    """Unknown extension codes decode as their basic-table character and ESC ESC as a space,
    as 23.038 tells a receiver to do; octets above 0x7F and a trailing lone ESC are errors."""
    if not data.isascii():
        bad = next(i for i, b in enumerate(data) if b > 0x7F)
        raise TextDecodeError(f"octet 0x{data[bad]:02X} at {bad} is not a GSM septet")
    if ESCAPE not in data:
        return data.decode("ascii").translate(_DECODE)
    chars: list[str] = []
    escaped = False
    for septet in data:
        if escaped:
            escaped = False
            if septet == ESCAPE:
                chars.append(" ")
            else:
                chars.append(EXTENSION.get(septet) or BASIC[septet])
        elif septet == ESCAPE:
            escaped = True
        else:
            chars.append(BASIC[septet])
    if escaped:
        raise TextDecodeError("GSM text ends with an escape (0x1B) and no character")
    return "".join(chars)
