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
# Channels whose interfaces' callbacks are routed to their account (by path, community id
# or key) and recorded under the interface's id, so two accounts' ids never meet; the
# others' callbacks are recorded under the service's one scope.
OWN_SCOPE = frozenset({channel_pb2.CHANNEL_VK, channel_pb2.CHANNEL_FLASH_CALL})
Send = Callable[[cs.OutboundMessage], Awaitable[cs.SendResult]]


@dataclass(frozen=True, slots=True)
class ProviderInterface:
    id: str
    channel: int
    api_url: str
    account: str
    token: str
    webhook_secret: str
    webhook_verify: str  # VK's confirmation string, WhatsApp's verify token (0136)


async def load(dsn: str) -> tuple[int, list[ProviderInterface]]:
    """(settings revision, enabled messenger interfaces) from one snapshot."""
    async with snapshot(dsn) as (conn, revision):
        cur = await conn.execute(
            "SELECT id, channel, api_url, account, token, webhook_secret, webhook_verify"
            " FROM settings_read.messenger_interfaces WHERE enabled ORDER BY id"
        )
        return revision, [ProviderInterface(*r) for r in await cur.fetchall()]


class ProviderInterfaces:
    """The senders of the configured interfaces, by interface id; ``scope`` is the receipt
    scope of the Viber, WhatsApp and Telegram messages this service sends (their callbacks
    arrive at one webhook, which records them under it), whichever interface took it; a
    VK or FlashingCall interface's messages have its own id as their scope."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        scope: str,
        concurrency: int,
        telegram_callback_url: str,
        viber_sender: Callable[[str, str, str], Send],
        signing: Callable[[list[ProviderInterface]], None],
    ) -> None:
        self._http = http
        self._scope = scope
        self._concurrency = concurrency
        self._telegram_callback_url = telegram_callback_url
        self._viber_sender = viber_sender  # (api_url, token, interface id) → sender
        self._senders: dict[str, Send] = {}
        self._own_scope: set[str] = set()  # interfaces whose receipts have their own scope
        # Told the interfaces whenever they change, so that the webhooks take their
        # callbacks (each signed or keyed with that account's secret).
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
                own = interface_id in self._own_scope
                result.receipt_scope = interface_id if own else self._scope
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
        self._own_scope = {r.id for r in rows if r.channel in OWN_SCOPE}
        self._signing(rows)
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
