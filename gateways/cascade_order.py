"""Cascades given as an order of type letters, shared by HTTP API v5 (``order_list``,
``<t>_resendCond`` / ``_resendSn`` / ``_resendText`` / ``_resendValid``, http_cascade.rst)
and SMPP (TLV cascade_order 0x1444 and the per-type mode, sender, text and validity TLVs,
SMPP_API.txt section 6). Pure.

A type's condition says what its own message must reach before the next type is sent:
"Y" (the default) resend unless DELIVERED, "S" also resend unless READ within its
validity (not for SMS and FlashingCall, which have no READ), "N" do not resend: the chain
ends with that type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from google.protobuf import duration_pb2

from rcs.common.v1 import message_pb2
from rcs.core.v1 import message_service_pb2
from rcs_runtime import channels
from rcs_runtime.errors import RcsError, Reason

CONDITIONS = {
    "Y": message_service_pb2.CASCADE_STATE_DELIVERED,
    "S": message_service_pb2.CASCADE_STATE_READ,
}


@dataclass(frozen=True, slots=True)
class TypeOptions:
    """What the request says for one type letter; "" / 0 where it says nothing."""

    condition: str = ""
    sender: str = ""
    text: str = ""
    ttl_seconds: int = 0


@dataclass(frozen=True, slots=True)
class Chain:
    """The first message's channel and the links after it, in order."""

    first: int
    links: list[message_service_pb2.CascadeLink] = field(default_factory=list)


def letters_of(order: str, *, name: str) -> list[str]:
    """The type letters of an order ("p,s", case-insensitive), each known and once."""
    letters = [x.strip().lower() for x in order.split(",")]
    if not all(letters):
        raise RcsError(
            Reason.INVALID_REQUEST, f"{name} must list type letters, e.g. p,s", field=name
        )
    for x in letters:
        if x not in channels.BY_LETTER:
            raise RcsError(
                Reason.INVALID_REQUEST,
                f"{name}: unknown type {x!r}; use s, p, i, v, w or f",
                field=name,
            )
    if len(set(letters)) != len(letters):
        raise RcsError(Reason.INVALID_REQUEST, f"{name} names a type twice", field=name)
    return letters


def chain_of(
    letters: list[str],
    options: Mapping[str, TypeOptions],
    *,
    text: str,
    sender: str,
    push: message_pb2.PushContent | None = None,
    condition_field: str = "{t}_resendCond",
) -> Chain:
    """The cascade for ``letters``: every link carries its type's text and sender (else
    ``text`` / ``sender``, the request's own) and validity; ``push`` is the template of
    every push in the chain (image, buttons), its text and sender filled in per link."""
    first = channels.BY_LETTER[letters[0]]
    links: list[message_service_pb2.CascadeLink] = []
    for n, letter in enumerate(letters):
        opts = options.get(letter, TypeOptions())
        condition = (opts.condition or "Y").upper()
        where = condition_field.format(t=letter)
        if condition not in ("Y", "S", "N"):
            raise RcsError(Reason.INVALID_REQUEST, f"{where} must be N, Y or S", field=where)
        channel = channels.BY_LETTER[letter]
        if condition == "S" and channel not in channels.READABLE:
            raise RcsError(
                Reason.INVALID_CASCADE,
                f"{where}=S asks for a READ status, which {channels.name_of(channel)} messages"
                " do not have; use Y",
                field=where,
            )
        if condition == "N" or n + 1 == len(letters):
            break
        nxt_letter = letters[n + 1]
        nxt = options.get(nxt_letter, TypeOptions())
        links.append(
            link_of(
                CONDITIONS[condition],
                channels.BY_LETTER[nxt_letter],
                nxt.text or text,
                nxt.sender or sender,
                nxt.ttl_seconds,
                push,
            )
        )
    return Chain(first, links)


def link_of(
    state: message_service_pb2.CascadeState.ValueType,
    channel: int,
    text: str,
    sender: str,
    ttl_seconds: int,
    push: message_pb2.PushContent | None,
) -> message_service_pb2.CascadeLink:
    link = message_service_pb2.CascadeLink(
        state=state,
        channel=channel,  # type: ignore[arg-type]
        ttl=duration_pb2.Duration(seconds=ttl_seconds),
    )
    if channel == channels.PUSH:
        if push is not None:
            link.push.CopyFrom(push)
        link.push.text, link.push.service_number = text, sender
    elif channel in channels.MESSENGER_CONTENT:  # a letter carries text only (no image, button)
        link.viber.text, link.viber.service_number = text, sender
    else:
        link.sms.text, link.sms.sender = text, sender
    return link
