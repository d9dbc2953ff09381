"""CHANNEL_TELEGRAM: each message is one sendMessage call in the Telegram Gateway API's
shape (rcs_messengers.telegram_wire); the request_id is the operator id."""

from __future__ import annotations

import httpx

from rcs.connector.v1 import connector_service_pb2 as cs
from rcs_messengers import telegram_wire
from rcs_messengers.provider_call import ProviderSender, seconds_left

DEFAULT_TTL = 86400  # rest_telegram.rst's longest, when core sends no validity


def telegram_sender(
    http: httpx.AsyncClient,
    api_url: str,
    token: str,
    callback_url: str,
    interface_id: str,
    concurrency: int,
) -> ProviderSender:
    def body_of(m: cs.OutboundMessage) -> dict[str, object]:
        ttl = seconds_left(m, DEFAULT_TTL)
        return telegram_wire.body_of(m.viber, m.destination, ttl, m.message_id, callback_url)

    return ProviderSender(
        "telegram",
        http,
        api_url.rstrip("/") + "/sendMessage",
        {"Authorization": f"Bearer {token}"},
        interface_id,
        concurrency,
        body_of,
        telegram_wire.answer_of,
    )
