"""GSM 03.38 / Latin-1 / UCS-2 text codecs and the choice between GSM and UCS-2."""

from __future__ import annotations

import pytest
import smpplib.gsm

from rcs_smpp.constants import DataCoding
from rcs_smpp.encoding import DefaultAlphabet, decode_text, encode_as, encode_text
from rcs_smpp.errors import TextDecodeError, TextEncodeError
from rcs_smpp.gsm import BASIC, EXTENSION, gsm_decode, gsm_encode, is_gsm, septet_count

ALL_GSM = BASIC.replace("\x1b", "") + "".join(EXTENSION.values())


def test_every_gsm_character_round_trips_and_matches_smpplib() -> None:
    encoded = gsm_encode(ALL_GSM)

    assert len(encoded) == 127 + 2 * len(EXTENSION)
    assert gsm_decode(encoded) == ALL_GSM
    # smpplib's table lacks form feed (0x1B 0x0A) and has "`" where 03.38 has "§" (0x5F).
    common = ALL_GSM.replace("\f", "").replace("§", "")
    assert gsm_encode(common) == smpplib.gsm.gsm_encode(common)


def test_extension_characters_are_escaped_and_count_two_septets() -> None:
    assert gsm_encode("€") == b"\x1b\x65"
    assert gsm_encode("{[~]}|^\\\f") == bytes.fromhex("1b281b3c1b3d1b3e1b291b401b141b2f1b0a")
    assert septet_count("a€b") == 4


def test_plain_ascii_maps_to_gsm_positions() -> None:
    assert gsm_encode("@$_ Aa0") == bytes([0x00, 0x02, 0x11, 0x20, 0x41, 0x61, 0x30])


@pytest.mark.parametrize("text", ["ç", "`", "Ж", "😀", "\x1b", "\t", "ÿ"])
def test_characters_outside_gsm_are_refused(text: str) -> None:
    assert not is_gsm(text)
    with pytest.raises(TextEncodeError):
        gsm_encode(text)


def test_decode_unknown_escape_shows_the_basic_character_and_double_escape_a_space() -> None:
    assert gsm_decode(b"\x1bA") == "A"
    assert gsm_decode(b"a\x1b\x1bb") == "a b"


@pytest.mark.parametrize("payload", [b"abc\x1b", b"\x80", b"ok\xff"])
def test_decode_refuses_lone_escape_and_octets_above_0x7f(payload: bytes) -> None:
    with pytest.raises(TextDecodeError):
        gsm_decode(payload)


def test_encode_text_picks_gsm_when_every_character_fits() -> None:
    assert encode_text("Hello € {world}") == (0, gsm_encode("Hello € {world}"))


def test_encode_text_falls_back_to_ucs2_for_anything_else() -> None:
    assert encode_text("Привет") == (8, "Привет".encode("utf-16-be"))


def test_astral_characters_are_sent_as_surrogate_pairs() -> None:
    data_coding, payload = encode_text("hi 😀")

    assert data_coding == DataCoding.UCS2
    assert payload == bytes.fromhex("0068 0069 0020 d83d de00")
    assert decode_text(8, payload) == "hi 😀"


@pytest.mark.parametrize(
    "payload", [b"\x00h\x00", bytes.fromhex("d83d"), bytes.fromhex("de00 0041")]
)
def test_ucs2_decode_refuses_odd_length_and_lone_surrogates(payload: bytes) -> None:
    with pytest.raises(TextDecodeError):
        decode_text(8, payload)


def test_ucs2_encode_refuses_lone_surrogates() -> None:
    with pytest.raises(TextEncodeError):
        encode_as(8, "a\ud83d")


@pytest.mark.parametrize(
    ("data_coding", "text"),
    [(0, "Hi €"), (1, "plain"), (3, "café ÿ"), (6, "Привет"), (8, "中文 😀"), (0xF1, "class1")],
)
def test_text_codings_round_trip(data_coding: int, text: str) -> None:
    assert decode_text(data_coding, encode_as(data_coding, text)) == text


def test_latin1_and_ascii_refuse_characters_outside_their_charset() -> None:
    with pytest.raises(TextEncodeError):
        encode_as(3, "Ж")
    with pytest.raises(TextDecodeError):
        decode_text(1, b"\xe9")


@pytest.mark.parametrize("data_coding", [2, 4, 0xF4, 0xF6])
def test_binary_data_codings_are_not_text(data_coding: int) -> None:
    with pytest.raises(TextDecodeError):
        decode_text(data_coding, b"\x01\x02")


def test_unsupported_data_coding_is_a_typed_error() -> None:
    with pytest.raises(TextDecodeError):
        decode_text(0x0E, b"ab")
    with pytest.raises(TextEncodeError):
        encode_as(0x0E, "ab")


def test_default_alphabet_ascii_or_latin1_changes_what_dc0_means() -> None:
    assert encode_text("a_b", DefaultAlphabet.ASCII) == (0, b"a_b")
    assert encode_text("café", DefaultAlphabet.LATIN_1) == (0, b"caf\xe9")
    assert encode_text("café", DefaultAlphabet.ASCII)[0] == 8
    assert decode_text(0, b"a_b", DefaultAlphabet.ASCII) == "a_b"
    assert decode_text(0, b"\x11", DefaultAlphabet.GSM) == "_"
