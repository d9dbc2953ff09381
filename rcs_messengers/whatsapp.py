"""CHANNEL_WHATSAPP: each message is one POST /{version}/{phone-number-id}/messages to the
Cloud API with the Bearer token (rcs_messengers.whatsapp_wire); the wamid is the operator
id."""

from __future__ import annotations

import httpx

from rcs.connector.v1 import connector_service_pb2 as cs
from rcs_messengers import whatsapp_wire
from rcs_messengers.provider_call import ProviderSender


def whatsapp_sender(
    http: httpx.AsyncClient,
    api_url: str,
    phone_number_id: str,
    access_token: str,
    interface_id: str,
    concurrency: int,
) -> ProviderSender:
    def body_of(m: cs.OutboundMessage) -> dict[str, object]:
        return whatsapp_wire.body_of(m.viber, m.destination)

    return ProviderSender(
        "whatsapp",
        http,
        f"{api_url.rstrip('/')}/{phone_number_id}/messages",
        {"Authorization": f"Bearer {access_token}"},
        interface_id,
        concurrency,
        body_of,
        whatsapp_wire.answer_of,
    )
