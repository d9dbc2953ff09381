"""Delivery receipt parsing (Appendix B text and TLVs) and building."""

from __future__ import annotations

from datetime import datetime

import pytest

from rcs_smpp.codec import decode, encode
from rcs_smpp.constants import MessageState
from rcs_smpp.pdu import DeliverSm
from rcs_smpp.receipts import (
    ReceiptError,
    ascii_text,
    build_receipt,
    build_receipt_pdu,
    is_receipt,
    parse_receipt,
    parse_receipt_pdu,
)
from rcs_smpp.tlv import Tlvs

STANDARD = (
    "id:0123456789 sub:001 dlvrd:001 submit date:2401011200 done date:2401011205 "
    "stat:DELIVRD err:000 text:Hello world"
)


def test_appendix_b_receipt_is_parsed_field_by_field() -> None:
    receipt = parse_receipt(STANDARD)

    assert receipt.message_id == "123456789"
    assert receipt.raw_message_id == "0123456789"
    assert (receipt.stat, receipt.message_state) == ("DELIVRD", MessageState.DELIVERED)
    assert (receipt.err, receipt.error_code) == ("000", 0)
    assert (receipt.submitted, receipt.delivered) == (1, 1)
    assert receipt.submit_date == datetime(2024, 1, 1, 12, 0)
    assert receipt.done_date == datetime(2024, 1, 1, 12, 5)
    assert receipt.text == "Hello world"


def test_keys_are_case_insensitive_and_spaces_after_colons_are_tolerated() -> None:
    receipt = parse_receipt(
        "ID: ABCDEF SUB: 001 DLVRD: 000 SUBMIT DATE: 240101120030 DONE DATE: 240101120145"
        "  STAT: undeliv  ERR: 034 TEXT: x"
    )

    assert receipt.message_id == "abcdef"
    assert receipt.stat == "UNDELIV"
    assert receipt.message_state == MessageState.UNDELIVERABLE
    assert receipt.error_code == 34
    assert receipt.submit_date == datetime(2024, 1, 1, 12, 0, 30)
    assert receipt.done_date == datetime(2024, 1, 1, 12, 1, 45)


def test_rapporto_style_receipt_with_seen_date_and_underscores() -> None:
    receipt = parse_receipt(
        "id: 4242 sub: 002 dlvrd: 002 submit_date: 2401011200 done_date:2401011201 "
        "stat: DELIVRD seen date: 2401011300 err: 0 text:..."
    )

    assert receipt.message_id == "4242"
    assert receipt.done_date == datetime(2024, 1, 1, 12, 1)
    assert receipt.error_code == 0
    assert receipt.submitted == 2


def test_missing_fields_are_none_or_empty() -> None:
    receipt = parse_receipt("id:77 stat:EXPIRED")

    assert (receipt.message_id, receipt.stat, receipt.message_state) == ("77", "EXPIRED", 3)
    assert receipt.submit_date is None
    assert receipt.done_date is None
    assert receipt.error_code is None
    assert receipt.submitted is None
    assert receipt.text == ""


@pytest.mark.parametrize(
    ("word", "stat", "state"),
    [
        ("delivered", "DELIVRD", 2),
        ("UNDELIVERABLE", "UNDELIV", 5),
        ("Rejected", "REJECTD", 8),
        ("ACCEPTD", "ACCEPTD", 6),
        ("enroute", "ENROUTE", 1),
        ("FAILED", "FAILED", None),
    ],
)
def test_stat_words_are_normalised(word: str, stat: str, state: int | None) -> None:
    receipt = parse_receipt(f"id:1 stat:{word}")
    assert (receipt.stat, receipt.message_state) == (stat, state)


def test_invalid_dates_and_non_numeric_err_are_tolerated() -> None:
    receipt = parse_receipt("id:1 submit date:2413011200 done date:24010112 stat:DELIVRD err:0x1f")

    assert receipt.submit_date is None
    assert receipt.done_date is None
    assert (receipt.err, receipt.error_code) == ("0x1f", None)


def test_text_runs_to_the_end_even_if_it_looks_like_fields() -> None:
    receipt = parse_receipt("id:1 stat:DELIVRD err:000 text:your id: 99 err:5")
    assert receipt.text == "your id: 99 err:5"
    assert receipt.message_id == "1"


def test_tlvs_win_over_the_text() -> None:
    tlvs = Tlvs()
    tlvs.receipted_message_id = "1A2B"
    tlvs.message_state = MessageState.REJECTED
    tlvs.network_error_code = (3, 11)

    receipt = parse_receipt("id:6699 stat:DELIVRD err:000", tlvs)

    assert (receipt.message_id, receipt.raw_message_id) == ("1a2b", "1A2B")
    assert (receipt.stat, receipt.message_state) == ("REJECTD", 8)
    assert receipt.network_error_code == (3, 11)


def test_tlv_only_receipt_without_text_parses() -> None:
    tlvs = Tlvs()
    tlvs.receipted_message_id = "00042"
    tlvs.message_state = MessageState.DELIVERED
    receipt = parse_receipt_pdu(DeliverSm(esm_class=0x04, tlvs=tlvs))

    assert (receipt.message_id, receipt.stat) == ("42", "DELIVRD")


def test_receipt_without_any_id_is_an_error() -> None:
    with pytest.raises(ReceiptError):
        parse_receipt("sub:001 stat:DELIVRD")
    with pytest.raises(ReceiptError):
        parse_receipt("id:   stat:DELIVRD")


def test_ucs2_receipt_text_is_decoded() -> None:
    pdu = DeliverSm(
        esm_class=4, data_coding=8, short_message="id:5 stat:DELIVRD".encode("utf-16-be")
    )
    assert parse_receipt_pdu(pdu).message_id == "5"


def test_receipt_in_message_payload_is_read() -> None:
    tlvs = Tlvs()
    tlvs.message_payload = STANDARD.encode()
    assert parse_receipt_pdu(DeliverSm(esm_class=4, tlvs=tlvs)).message_id == "123456789"


def test_is_receipt_looks_at_the_message_type_bits_only() -> None:
    assert is_receipt(0x04)
    assert is_receipt(0x44)
    assert is_receipt(0x20)
    assert not is_receipt(0x00)
    assert not is_receipt(0x40)
    assert not is_receipt(0x08)


def test_receipt_text_is_ascii_with_cyrillic_transliterated() -> None:
    assert ascii_text("Щука, ёжик, Юля, подъезд, 日本") == "Shchuka, ezhik, Iulia, podieezd, ??"
    assert ascii_text("ВСЕ ЗАГЛАВНЫЕ") == "VSE ZAGLAVNYE"


def test_built_receipt_parses_back_to_the_same_facts() -> None:
    short_message, tlvs = build_receipt(
        message_id="1a2b",
        state=MessageState.UNDELIVERABLE,
        submit_date=datetime(2024, 3, 4, 5, 6),
        done_date=datetime(2024, 3, 4, 5, 7),
        err=34,
        text="Привет, this is longer than twenty",
    )

    assert short_message == (
        b"id:1a2b sub:001 dlvrd:000 submit date:2403040506 done date:2403040507"
        b" stat:UNDELIV err:034 text:Privet, this is long"
    )
    receipt = parse_receipt(short_message.decode(), tlvs)
    assert (receipt.message_id, receipt.message_state, receipt.error_code) == ("1a2b", 5, 34)


def test_built_receipt_pdu_goes_back_to_the_sender_and_survives_the_codec() -> None:
    pdu = build_receipt_pdu(
        source_addr="79001234567",
        destination_addr="RCS",
        message_id="42",
        state=MessageState.DELIVERED,
        submit_date=datetime(2024, 1, 1),
        done_date=datetime(2024, 1, 1, 0, 1),
    )

    decoded = decode(encode(pdu))

    assert isinstance(decoded, DeliverSm)
    assert decoded.esm_class == 0x04
    assert (decoded.source_addr, decoded.destination_addr) == ("79001234567", "RCS")
    receipt = parse_receipt_pdu(decoded)
    assert (receipt.message_id, receipt.stat, receipt.delivered) == ("42", "DELIVRD", 1)
