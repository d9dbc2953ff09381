"""The messenger channels' provider interfaces configured as settings (issue 17, migration
0121): one sender per interface with that account's API and credentials, read through
settings_read.messenger_interfaces and rebuilt when the settings revision moves. Core's
dispatcher names a message's interfaces in order (interface_id, then
fallback_interface_ids); ``send`` tries them in that order and passes the message on when
one could not take it (down, 5xx, rate limit, refused credentials: the RETRY outcome), as
the SMPP connector does along an operator's interfaces."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import psycopg

from rcs.common.v1 import channel_pb2
from rcs.connector.v1 import connector_service_pb2 as cs
from rcs_messengers.flashcall import FlashcallSender
from rcs_messengers.telegram import telegram_sender
from rcs_messengers.vk import VkSender
from rcs_messengers.whatsapp import whatsapp_sender
from rcs_runtime.settings_read import snapshot

log = logging.getLogger(__name__)
Send = Callable[[cs.OutboundMessage], Awaitable[cs.SendResult]]


@dataclass(frozen=True, slots=True)
class ProviderInterface:
    id: str
    channel: int
    api_url: str
    account: str
    token: str
    webhook_secret: str


async def load(dsn: str) -> tuple[int, list[ProviderInterface]]:
    """(settings revision, enabled messenger interfaces) from one snapshot."""
    async with snapshot(dsn) as (conn, revision):
        cur = await conn.execute(
            "SELECT id, channel, api_url, account, token, webhook_secret"
            " FROM settings_read.messenger_interfaces WHERE enabled ORDER BY id"
        )
        return revision, [ProviderInterface(*r) for r in await cur.fetchall()]


class ProviderInterfaces:
    """The senders of the configured interfaces, by interface id; ``scope`` is the receipt
    scope of every message this service sends (its callbacks arrive at one webhook, which
    records them under it), whichever interface took it."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        scope: str,
        concurrency: int,
        telegram_callback_url: str,
        viber_sender: Callable[[str, str, str], Send],
        signing: Callable[[dict[int, set[str]]], None],
    ) -> None:
        self._http = http
        self._scope = scope
        self._concurrency = concurrency
        self._telegram_callback_url = telegram_callback_url
        self._viber_sender = viber_sender  # (api_url, token, interface id) → sender
        self._senders: dict[str, Send] = {}
        # Told, per channel, what may sign callbacks besides the environment's account: the
        # token (Viber, Telegram) or the webhook secret (WhatsApp's app secret).
        self._signing = signing
        self.revision = -1

    def knows(self, m: cs.OutboundMessage) -> bool:
        return any(i in self._senders for i in (m.interface_id, *m.fallback_interface_ids))

    async def send(self, m: cs.OutboundMessage) -> cs.SendResult:
        """The first answer that is not RETRY along the message's interfaces, else the last
        RETRY (the dispatcher tries again later) with the shortest of their Retry-After
        hints: none when one of them gave none (that interface may take it at once)."""
        last: cs.SendResult | None = None
        soonest: int | None = None  # ms; 0 once an interface gave no hint
        for interface_id in (m.interface_id, *m.fallback_interface_ids):
            sender = self._senders.get(interface_id)
            if sender is None:
                continue  # removed or disabled since core routed it
            result = await sender(m)
            if result.outcome == cs.SEND_OUTCOME_ACCEPTED:
                result.interface_id = interface_id
                result.receipt_scope = self._scope
                return result
            if result.outcome != cs.SEND_OUTCOME_RETRY:
                return result
            log.warning(
                "messenger_interface_failover",
                extra={"interface": interface_id, "detail": result.detail},
            )
            last = result
            hint = result.retry_after.ToMilliseconds() if result.HasField("retry_after") else 0
            soonest = hint if soonest is None else min(soonest, hint)
        if last is not None:
            last.ClearField("retry_after")
            if soonest:
                last.retry_after.FromMilliseconds(soonest)
        return last or cs.SendResult(
            message_id=m.message_id,
            outcome=cs.SEND_OUTCOME_RETRY,
            detail="no enabled messenger interface of the message's route",
        )

    def apply(self, revision: int, rows: list[ProviderInterface]) -> None:
        senders: dict[str, Send] = {}
        for r in rows:
            sender = self._sender_of(r)
            if sender is not None:
                senders[r.id] = sender
        self._senders = senders
        signing: dict[int, set[str]] = {}
        for r in rows:
            key = r.webhook_secret if r.channel == channel_pb2.CHANNEL_WHATSAPP else r.token
            signing.setdefault(r.channel, set()).add(key)
        self._signing(signing)
        self.revision = revision

    def _sender_of(self, r: ProviderInterface) -> Send | None:
        c, n = r.channel, self._concurrency
        if c == channel_pb2.CHANNEL_VIBER:
            return self._viber_sender(r.api_url, r.token, r.id)
        if c == channel_pb2.CHANNEL_WHATSAPP:
            return whatsapp_sender(self._http, r.api_url, r.account, r.token, r.id, n).send
        if c == channel_pb2.CHANNEL_TELEGRAM:
            url = self._telegram_callback_url
            return telegram_sender(self._http, r.api_url, r.token, url, r.id, n).send
        if c == channel_pb2.CHANNEL_VK and r.account.isdigit():
            return VkSender(self._http, r.api_url, r.token, int(r.account), r.id, n)
        if c == channel_pb2.CHANNEL_FLASH_CALL:
            return FlashcallSender(self._http, r.api_url, r.token, r.id, n)
        return None

    async def keep_synced(self, dsn: str, every: float) -> None:
        """Reload when the settings revision moves; a database that is away keeps the
        interfaces as they were (and the message service sending)."""
        while True:
            try:
                revision, rows = await load(dsn)
                if revision != self.revision:
                    self.apply(revision, rows)
                    log.info(
                        "messenger_interfaces_synced",
                        extra={"revision": revision, "interfaces": sorted(self._senders)},
                    )
            except (psycopg.Error, OSError) as err:
                log.warning("messenger_interfaces_unreadable", extra={"error": str(err)})
            await asyncio.sleep(every)
