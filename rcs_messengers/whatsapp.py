"""CHANNEL_WHATSAPP: each message is one POST /{version}/{phone-number-id}/messages to the
Cloud API with the Bearer token (rcs_messengers.whatsapp_wire); the wamid is the operator
id."""

from __future__ import annotations

import json

import httpx

from rcs.connector.v1 import connector_service_pb2 as cs
from rcs_messengers import whatsapp_wire
from rcs_messengers.provider_call import ProviderSender
from rcs_messengers.whatsapp_webhook import MediaLink


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


def media_link(http: httpx.AsyncClient, api_url: str, access_token: str) -> MediaLink:
    """The Cloud API's "Retrieve Media URL": GET /{version}/{media-id} with the Bearer token
    answers {"url": ...}; ValueError when it does not (the webhook then answers 503)."""

    async def link(media_id: str) -> str:
        try:
            r = await http.get(
                f"{api_url.rstrip('/')}/{media_id}",
                headers={"Authorization": f"Bearer {access_token}"},
            )
            doc = r.json()
        except (httpx.HTTPError, json.JSONDecodeError) as err:
            raise ValueError(f"GET /{media_id}: {type(err).__name__}") from err
        if r.status_code != 200 or not isinstance(doc, dict) or not doc.get("url"):
            raise ValueError(f"GET /{media_id} answered HTTP {r.status_code}")
        return str(doc["url"])

    return link
