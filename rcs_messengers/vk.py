"""VK: each message is one messages.send call from the community to the user's number
(vk_wire); its callbacks: rcs_messengers.vk_callback."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx

from rcs.connector.v1 import connector_service_pb2 as cs
from rcs_messengers import vk_wire
from rcs_messengers.provider_call import Answer, result_of

log = logging.getLogger(__name__)


class VkSender:
    def __init__(
        self,
        http: httpx.AsyncClient,
        api_url: str,
        token: str,
        group_id: int,
        interface_id: str,
        concurrency: int,
    ) -> None:
        self._http = http
        self._url = api_url.rstrip("/") + "/method/messages.send"
        self._token = token
        self._group_id = group_id
        self._interface_id = interface_id
        self._slots = asyncio.Semaphore(concurrency)

    async def __call__(self, m: cs.OutboundMessage) -> cs.SendResult:
        params = vk_wire.params_of(m.sms.text, m.destination, m.message_id, self._group_id)
        async with self._slots:
            try:
                r = await self._http.post(
                    self._url, data=params, headers={"Authorization": f"Bearer {self._token}"}
                )
            except httpx.HTTPError as err:
                log.warning("vk_send_failed", extra={"error": type(err).__name__})
                return result_of(m, Answer(retry=True, detail="vk_unreachable"), self._interface_id)
        try:
            doc = r.json()
        except json.JSONDecodeError:
            doc = None
        return result_of(m, vk_wire.answer_of(r.status_code, doc), self._interface_id)
