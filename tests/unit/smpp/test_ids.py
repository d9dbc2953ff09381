"""Operator message id normalisation and hex/decimal variants."""

from __future__ import annotations

import pytest

from rcs_smpp.ids import message_id_variants, normalize_message_id


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("  0A1B2C \n", "a1b2c"),
        ("000123", "123"),
        ("0000", "0"),
        ("ABC-def", "abc-def"),
        ("12345\0", "12345"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_normalisation_trims_lowers_and_drops_leading_zeros(raw: str, normalised: str) -> None:
    assert normalize_message_id(raw) == normalised


def test_hex_id_has_its_decimal_value_as_variant() -> None:
    assert message_id_variants("1A2B") == {"1a2b", "6699"}


def test_decimal_id_has_its_hex_spelling_and_its_hex_reading_as_variants() -> None:
    assert message_id_variants("6699") == {"6699", "1a2b", "26265"}


def test_non_hex_id_has_no_variants() -> None:
    assert message_id_variants("msg-42x") == {"msg-42x"}
    assert message_id_variants("") == set()


@pytest.mark.parametrize(
    ("in_submit_resp", "in_receipt"),
    [
        ("1A2B", "6699"),  # hex in submit_sm_resp, decimal in the receipt
        ("6699", "1a2b"),  # decimal in submit_sm_resp, hex in the receipt
        ("0001A2B", "1a2b"),  # leading zeros and case
        ("00000000000000FF", "255"),
        ("12345", "00012345"),
    ],
)
def test_the_two_spellings_of_one_id_share_a_variant(in_submit_resp: str, in_receipt: str) -> None:
    assert message_id_variants(in_submit_resp) & message_id_variants(in_receipt)


def test_variants_are_normalised() -> None:
    for variant in message_id_variants("00FF"):
        assert variant == normalize_message_id(variant)


def test_very_long_ids_get_no_numeric_variants() -> None:
    raw = "1" * 100
    assert message_id_variants(raw) == {raw}
