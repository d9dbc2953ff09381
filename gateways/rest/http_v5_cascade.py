"""HTTP API v5 push (http_push.rst) and cascades (http_cascade.rst), the pure part.

``order_list=p,s`` sends a push that falls back to an SMS: the first type is the message
itself (``message``, ``source``), each type's ``<t>_resendCond`` (N, Y, S), ``_resendSn``,
``_resendText`` and ``_resendValid`` ("YYMMDDhhmmsstnnp", relative with "R") shape the
chain (gateways.cascade_order). A push alone is ``order_list=p``, or any of the push
parameters the document's examples use (``imageUrl``, ``buttonText`` + ``buttonLink``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from gateways.cascade_order import TypeOptions, chain_of, letters_of
from rcs.common.v1 import message_pb2
from rcs.core.v1 import message_service_pb2
from rcs_runtime import channels
from rcs_runtime.errors import RcsError, Reason
from rcs_smpp.times import parse_smpp_time

PUSH_PARAMETERS = frozenset(("imageUrl", "buttonText", "buttonLink"))


@dataclass(frozen=True, slots=True)
class Order:
    first: int
    push: message_pb2.PushContent | None
    ttl_seconds: int
    links: list[message_service_pb2.CascadeLink] = field(default_factory=list)


def _validity(params: Mapping[str, str], name: str, now: dt.datetime) -> int:
    raw = params.get(name, "").strip()
    if not raw:
        return 0
    try:
        seconds = int((parse_smpp_time(raw, now) - now).total_seconds())
    except ValueError as exc:
        raise RcsError(
            Reason.INVALID_REQUEST,
            f"{name} must be an SMPP time YYMMDDhhmmsstnnp, e.g. 000000000030000R for 30 s",
            field=name,
        ) from exc
    if seconds < 1:
        raise RcsError(Reason.INVALID_TTL, f"{name} is in the past", field=name)
    return seconds


def push_template(params: Mapping[str, str]) -> message_pb2.PushContent:
    push = message_pb2.PushContent(image_url=params.get("imageUrl", ""))
    text, link = params.get("buttonText", ""), params.get("buttonLink", "")
    if text or link:
        if not (text and link):
            raise RcsError(
                Reason.INVALID_REQUEST, "buttonText and buttonLink go together", field="buttonText"
            )
        push.buttons.add(text=text, action_url=link)
    return push


def order_of(
    params: Mapping[str, str],
    message: str,
    source: str,
    now: dt.datetime | None = None,
    *,
    default_order: str | None = None,
) -> Order | None:
    """The push or cascade the parameters ask for; None for a plain SMS. ``default_order``
    is the order of a request without order_list ("p" for a login whose service is PUSH)."""
    raw = params.get("order_list", default_order)
    if raw is None:
        if PUSH_PARAMETERS.isdisjoint(params):
            return None
        raw = "p"
    now = now or dt.datetime.now(dt.UTC)
    letters = letters_of(raw, name="order_list")
    options = {
        t: TypeOptions(
            condition=params.get(f"{t}_resendCond", ""),
            sender=params.get(f"{t}_resendSn", "").strip(),
            text=params.get(f"{t}_resendText", ""),
            ttl_seconds=_validity(params, f"{t}_resendValid", now),
        )
        for t in letters
    }
    template = push_template(params)
    chain = chain_of(letters, options, text=message, sender=source, push=template)
    push = None
    if chain.first == channels.PUSH:
        push = message_pb2.PushContent()
        push.CopyFrom(template)
        push.text, push.service_number = message, source
    return Order(chain.first, push, options[letters[0]].ttl_seconds, chain.links)
