"""Text <-> short_message octets for each data_coding.

``encode_text`` picks GSM 03.38 (dc 0) when every character has a septet and UCS-2 (dc 8)
otherwise. UCS-2 is written as UTF-16BE: characters beyond the BMP (emoji) travel as surrogate
pairs, which every handset decodes, instead of being lost.

What dc 0 means is agreed per link ("SMSC default alphabet"): GSM 03.38 unless a partner or
operator says ASCII or Latin-1, hence the ``default_alphabet`` parameter.
"""

from __future__ import annotations

from enum import Enum
from typing import Final

from rcs_smpp.constants import DataCoding
from rcs_smpp.errors import TextDecodeError, TextEncodeError
from rcs_smpp.gsm import gsm_decode, gsm_encode, is_gsm


class DefaultAlphabet(Enum):
    GSM = "gsm"
    ASCII = "ascii"
    LATIN_1 = "latin-1"


class Unit(Enum):
    """How a data_coding counts length: the SMSC packs septets, or sends octets, or UCS-2."""

    SEPTET = "septet"
    OCTET = "octet"
    UCS2 = "ucs2"


# Python codecs for the fixed single-charset codings.
_CODECS: Final[dict[int, str]] = {
    DataCoding.IA5_ASCII: "ascii",
    DataCoding.LATIN_1: "latin-1",
    DataCoding.CYRILLIC: "iso8859_5",
    DataCoding.LATIN_HEBREW: "iso8859_8",
    DataCoding.UCS2: "utf-16-be",
}
_BINARY: Final = frozenset({DataCoding.OCTET_UNSPECIFIED_2, DataCoding.OCTET_UNSPECIFIED_4})


def _is_gsm_class_7bit(data_coding: int) -> bool:
    # GSM DCS group 1111 ("data coding / message class"): bit 2 clear = default alphabet.
    return data_coding & 0xF4 == 0xF0


def _is_gsm_class_8bit(data_coding: int) -> bool:
    return data_coding & 0xF4 == 0xF4


def _has_class(data_coding: int) -> bool:
    # GSM 03.38 general group 00xx: bit 4 set = the message class (bits 1-0) is meaningful;
    # bit 5 (compressed) is not supported. 0x10 is GSM class 0 ("flash"), 0x18 UCS-2 class 0.
    return data_coding & 0xF0 == 0x10


def base_coding(data_coding: int) -> int:
    """The coding without its message class: 0x10-0x13 → 0 (GSM 03.38), 0x14-0x17 → 4
    (8-bit), 0x18-0x1B → 8 (UCS-2); anything else unchanged."""
    if _has_class(data_coding):
        alphabet = (data_coding >> 2) & 3  # 3 is reserved: left as it is (not supported)
        bases = (DataCoding.SMSC_DEFAULT, DataCoding.OCTET_UNSPECIFIED_4, DataCoding.UCS2)
        return int(bases[alphabet]) if alphabet < 3 else data_coding
    return data_coding


def message_class(data_coding: int) -> int | None:
    """The GSM message class the coding sets (0: flash), or None when it sets none."""
    if _has_class(data_coding) or data_coding & 0xF0 == 0xF0:
        return data_coding & 3
    return None


def flash_coding(data_coding: int) -> int:
    """The class-0 (flash) form of a coding: GSM 0 → 0x10, 8-bit 4 → 0x14, UCS-2 8 → 0x18.
    Other codings (Latin-1, IA5, ...) have no class-0 form and are returned unchanged."""
    flash: dict[int, int] = {
        DataCoding.SMSC_DEFAULT: 0x10,
        DataCoding.OCTET_UNSPECIFIED_4: 0x14,
        DataCoding.UCS2: 0x18,
    }
    return flash.get(data_coding, data_coding)


def is_binary(data_coding: int) -> bool:
    data_coding = base_coding(data_coding)
    return data_coding in _BINARY or _is_gsm_class_8bit(data_coding)


def unit_of(data_coding: int, default_alphabet: DefaultAlphabet = DefaultAlphabet.GSM) -> Unit:
    """Septets for the 7-bit codings (GSM, IA5), UCS-2 for dc 8, octets for the rest."""
    data_coding = base_coding(data_coding)
    if data_coding == DataCoding.UCS2:
        return Unit.UCS2
    if data_coding == DataCoding.IA5_ASCII or _is_gsm_class_7bit(data_coding):
        return Unit.SEPTET
    if data_coding == DataCoding.SMSC_DEFAULT:
        # ASCII is 7-bit too; Latin-1 as the default alphabet is sent as 8-bit octets.
        return Unit.OCTET if default_alphabet is DefaultAlphabet.LATIN_1 else Unit.SEPTET
    return Unit.OCTET


def encode_text(
    text: str, default_alphabet: DefaultAlphabet = DefaultAlphabet.GSM
) -> tuple[int, bytes]:
    """(data_coding, octets): dc 0 when the default alphabet holds every character, else dc 8."""
    if default_alphabet is DefaultAlphabet.GSM:
        if is_gsm(text):
            return DataCoding.SMSC_DEFAULT, gsm_encode(text)
    else:
        try:
            return DataCoding.SMSC_DEFAULT, text.encode(default_alphabet.value)
        except UnicodeEncodeError:
            pass
    return DataCoding.UCS2, encode_as(DataCoding.UCS2, text)


def encode_as(
    data_coding: int, text: str, default_alphabet: DefaultAlphabet = DefaultAlphabet.GSM
) -> bytes:
    """``text`` in the given data_coding; TextEncodeError when it does not fit that charset."""
    if data_coding == DataCoding.SMSC_DEFAULT and default_alphabet is not DefaultAlphabet.GSM:
        codec = default_alphabet.value
    elif data_coding == DataCoding.SMSC_DEFAULT or _is_gsm_class_7bit(data_coding):
        return gsm_encode(text)
    else:
        found = _CODECS.get(data_coding)
        if found is None:
            raise TextEncodeError(f"data_coding 0x{data_coding:02X} is not a text coding we send")
        codec = found
    try:
        return text.encode(codec, errors="strict")
    except UnicodeEncodeError as e:
        raise TextEncodeError(f"{e.object[e.start : e.end]!r} does not fit {codec}") from None


def decode_text(
    data_coding: int, payload: bytes, default_alphabet: DefaultAlphabet = DefaultAlphabet.GSM
) -> str:
    """The text of a short message (UDH already removed). TextDecodeError for invalid octets,
    for binary data codings (2, 4, 0xF4-0xF7) and for codings we do not support. A message
    class (0x10 GSM flash, 0x18 UCS-2 flash) does not change the text."""
    if _has_class(data_coding):
        data_coding = base_coding(data_coding)
        if data_coding == DataCoding.SMSC_DEFAULT:
            return gsm_decode(payload)  # 0x10: GSM 03.38 whatever the default alphabet
    if data_coding == DataCoding.SMSC_DEFAULT and default_alphabet is not DefaultAlphabet.GSM:
        codec = default_alphabet.value
    elif data_coding == DataCoding.SMSC_DEFAULT or _is_gsm_class_7bit(data_coding):
        return gsm_decode(payload)
    elif is_binary(data_coding):
        raise TextDecodeError(f"data_coding 0x{data_coding:02X} is binary, not text")
    else:
        found = _CODECS.get(data_coding)
        if found is None:
            raise TextDecodeError(f"data_coding 0x{data_coding:02X} is not supported")
        codec = found
    try:
        return payload.decode(codec, errors="strict")
    except UnicodeDecodeError as e:
        raise TextDecodeError(f"invalid {codec} at octet {e.start}: {e.reason}") from None
