"""The optional parameters of a deliver_sm receipt against SMPP_API.txt's table 9: which
are sent for which status, none other; and with smpp_standard_tlvs_only, only the SMPP 3.4
ones of them."""

from __future__ import annotations

import pytest

from gateways.smpp.mapping import receipt_of
from rcs.common.v1 import status_pb2
from rcs_smpp.constants import EsmClass, RapportoTag, Tag
from rcs_smpp.tlv import STANDARD_TAGS, standard_only
from tests.unit.smpp_gateway.test_receipt_pdu import report, roundtrip

# Table 9: receipted_message_id, message_state always; message_type 0x1440 always (Rapporto
# sends it with every receipt); seen_date 0x1441 for a READ message; ptag 0x1411 when the
# partner gave one.
ALWAYS = {int(Tag.RECEIPTED_MESSAGE_ID), int(Tag.MESSAGE_STATE), int(RapportoTag.MESSAGE_TYPE)}
STATUSES = [
    status_pb2.MESSAGE_STATUS_DELIVERED,
    status_pb2.MESSAGE_STATUS_UNDELIVERED,
    status_pb2.MESSAGE_STATUS_EXPIRED,
    status_pb2.MESSAGE_STATUS_REJECTED,
    status_pb2.MESSAGE_STATUS_READ,
]


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("ptag", ["", "dep-7"])
def test_receipt_tlvs_are_table_9s(status: int, ptag: str) -> None:
    pdu = roundtrip(receipt_of(report(status=status, ptag=ptag)))
    expected = set(ALWAYS)
    if status == status_pb2.MESSAGE_STATUS_READ:
        expected.add(int(RapportoTag.SEEN_DATE))
    if ptag:
        expected.add(int(RapportoTag.PTAG))
    assert set(pdu.tlvs) == expected
    assert pdu.esm_class == EsmClass.TYPE_DELIVERY_RECEIPT
    # Table 8's mandatory fields: the sender name and the subscriber.
    assert (pdu.source_addr, pdu.destination_addr) == ("ACME", "79161234567")
    assert pdu.tlvs.get_cstring(RapportoTag.MESSAGE_TYPE) == "SMS"


@pytest.mark.parametrize("status", STATUSES)
def test_standard_only_receipts_keep_just_the_smpp_34_tlvs(status: int) -> None:
    pdu = receipt_of(report(status=status, ptag="dep-7"))
    pdu.tlvs = standard_only(pdu.tlvs)
    pdu = roundtrip(pdu)
    assert set(pdu.tlvs) == {int(Tag.RECEIPTED_MESSAGE_ID), int(Tag.MESSAGE_STATE)}
    assert set(pdu.tlvs) <= STANDARD_TAGS
    assert pdu.tlvs.receipted_message_id == "1234567890"
