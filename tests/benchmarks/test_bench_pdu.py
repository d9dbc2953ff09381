"""PDU codec throughput: encode + decode round trips of the two PDUs that carry nearly all
traffic. Target: at least 50,000 round trips per second on one core."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rcs_smpp.codec import decode, encode
from rcs_smpp.constants import EsmClass, MessageState, RapportoTag
from rcs_smpp.pdu import DeliverSm, SubmitSm
from rcs_smpp.receipts import build_receipt_pdu
from rcs_smpp.segmentation import Concatenation, split_text

ROUNDS = 1000  # round trips per benchmark call, so timer overhead does not dominate


def _submit_sm() -> SubmitSm:
    """Part 1 of a two-part UCS-2 message with SAR TLVs and Rapporto's ptag."""
    data_coding, segments = split_text("Привет! " * 10, reference=0x2A, method=Concatenation.SAR)
    part = segments[0]
    part.tlvs[RapportoTag.PTAG] = b"order-000042"
    return SubmitSm(
        sequence_number=12345,
        source_addr_ton=5,
        source_addr="RCS",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="79001234567",
        esm_class=part.esm_class,
        validity_period="240101120000000+",
        registered_delivery=1,
        data_coding=data_coding,
        short_message=part.short_message,
        tlvs=part.tlvs,
    )


def _receipt() -> DeliverSm:
    pdu = build_receipt_pdu(
        source_addr="79001234567",
        destination_addr="RCS",
        message_id="1a2b3c4d5e",
        state=MessageState.DELIVERED,
        submit_date=datetime(2024, 1, 1, 12, 0),
        done_date=datetime(2024, 1, 1, 12, 1),
        text="Привет! Привет!",
    )
    pdu.sequence_number = 777
    return pdu


def _run(benchmark: Any, pdu: SubmitSm | DeliverSm) -> None:
    assert decode(encode(pdu)) == pdu

    def round_trips() -> None:
        for _ in range(ROUNDS):
            decode(encode(pdu))

    benchmark.pedantic(round_trips, rounds=40, warmup_rounds=5)
    if benchmark.disabled:  # plain test runs only check the round trip above
        return
    stats = benchmark.stats.stats
    best, mean = ROUNDS / stats.min, ROUNDS / stats.mean
    benchmark.extra_info["round_trips_per_round"] = ROUNDS
    benchmark.extra_info["pdus_per_second_best"] = round(best)
    benchmark.extra_info["pdus_per_second_mean"] = round(mean)
    print(f"\n{type(pdu).__name__}: {best:,.0f}/s best round, {mean:,.0f}/s mean (encode+decode)")
    # The best round is the codec's speed; the mean also measures whatever else shares the CPU.
    assert best >= 50_000


def test_submit_sm_with_tlvs_encode_decode_per_second(benchmark: Any) -> None:
    pdu = _submit_sm()
    assert len(pdu.tlvs) == 4
    _run(benchmark, pdu)


def test_deliver_sm_receipt_encode_decode_per_second(benchmark: Any) -> None:
    pdu = _receipt()
    assert pdu.esm_class == EsmClass.TYPE_DELIVERY_RECEIPT
    _run(benchmark, pdu)
