"""Cascades as type letters (HTTP v5 order_list, SMPP cascade_order), pure."""

from __future__ import annotations

import datetime as dt

import pytest

from gateways.cascade_order import TypeOptions, chain_of, letters_of
from gateways.smpp.mapping import RefusedError, cascade_of
from rcs.common.v1 import channel_pb2, message_pb2
from rcs.core.v1 import message_service_pb2 as ms
from rcs_runtime.errors import RcsError
from rcs_smpp.constants import RapportoTag
from rcs_smpp.tlv import Tlvs

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def test_letters_are_case_insensitive_known_and_once() -> None:
    assert letters_of("P, s", name="order_list") == ["p", "s"]
    for bad in ("p,q", "p,,s", "p,p"):
        with pytest.raises(RcsError) as caught:
            letters_of(bad, name="order_list")
        assert caught.value.field == "order_list"


def test_each_link_carries_its_types_text_sender_and_validity() -> None:
    chain = chain_of(
        ["p", "s"],
        {"s": TypeOptions(text="sms", sender="RCS2", ttl_seconds=60)},
        text="push",
        sender="APP",
    )
    assert chain.first == channel_pb2.CHANNEL_PUSH
    (link,) = chain.links
    assert (link.state, link.channel) == (ms.CASCADE_STATE_DELIVERED, channel_pb2.CHANNEL_SMS)
    assert (link.sms.text, link.sms.sender, link.ttl.seconds) == ("sms", "RCS2", 60)


def test_condition_s_waits_for_read_and_n_ends_the_chain() -> None:
    chain = chain_of(
        ["p", "s", "i"],
        {"p": TypeOptions(condition="s"), "s": TypeOptions(condition="N")},
        text="t",
        sender="A",
    )
    assert [(x.state, x.channel) for x in chain.links] == [
        (ms.CASCADE_STATE_READ, channel_pb2.CHANNEL_SMS)
    ]


def test_condition_s_after_an_sms_is_refused() -> None:
    with pytest.raises(RcsError) as caught:
        chain_of(["s", "p"], {"s": TypeOptions(condition="S")}, text="t", sender="A")
    assert (caught.value.reason, caught.value.field) == ("INVALID_CASCADE", "s_resendCond")


def test_smpp_cascade_order_makes_a_push_with_an_sms_link() -> None:
    sub = ms.MessageSubmission(
        channel=channel_pb2.CHANNEL_SMS, sms=message_pb2.SmsContent(text="hi", sender="APP")
    )
    tlvs = Tlvs()
    tlvs[RapportoTag.CASCADE_ORDER] = b"P,S\x00"
    tlvs[RapportoTag.SMS_CASCADE_MODE] = b"Y"
    tlvs[RapportoTag.SMS_CASCADE_TEXT] = "по SMS".encode()
    tlvs[RapportoTag.SMS_CASCADE_VALIDITY] = b"000000001000000R"
    cascade_of(sub, tlvs, NOW)
    assert sub.channel == channel_pb2.CHANNEL_PUSH
    assert (sub.push.text, sub.push.service_number, sub.HasField("sms")) == ("hi", "APP", False)
    (link,) = sub.cascade
    assert (link.channel, link.sms.text, link.sms.sender, link.ttl.seconds) == (
        channel_pb2.CHANNEL_SMS,
        "по SMS",
        "APP",
        600,
    )


def test_smpp_unknown_cascade_type_is_an_invalid_tlv_value() -> None:
    sub = ms.MessageSubmission(sms=message_pb2.SmsContent(text="hi", sender="APP"))
    tlvs = Tlvs()
    tlvs[RapportoTag.CASCADE_ORDER] = b"P,X"
    with pytest.raises(RefusedError) as caught:
        cascade_of(sub, tlvs, NOW)
    assert caught.value.status == 0xC4


def test_a_viber_link_carries_its_text_and_sender_as_viber_content() -> None:
    chain = chain_of(["s", "i"], {"i": TypeOptions(text="v", sender="VB")}, text="t", sender="A")
    (link,) = chain.links
    assert link.channel == channel_pb2.CHANNEL_VIBER
    assert (link.viber.text, link.viber.service_number) == ("v", "VB")
    assert not link.HasField("sms")
