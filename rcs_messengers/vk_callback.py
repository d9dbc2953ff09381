"""VK's Callback API server (POST /vk/callback): message_reply / message_read events to
core as receipts, a user's message_new to core as MO (the user's reply to the partner).

Callbacks carry the community's secret key: a wrong or missing one is answered 401 and
nothing is done. Each VK provider interface's callbacks are checked with its own secret
and recorded under its own scope (its interface id), so two communities' message ids
never meet; the environment's community keeps RCS_MESSENGERS_INTERFACE_ID. An event_id
seen again recently is answered "ok" and not passed on (core would ignore the receipt,
and a reply's request id is VK's id for the message, which core records once); when core
does not store them the answer is 503, so VK sends the event again."""

from __future__ import annotations

import hmac
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass

from aiohttp import web

from rcs.common.v1 import channel_pb2
from rcs.core.v1 import delivery_service_pb2_grpc
from rcs_messengers import vk_wire
from rcs_messengers.inbound import InboundRecorder, Reply
from rcs_messengers.receipts import ReceiptRecorder

log = logging.getLogger(__name__)
_REMEMBERED = 100_000


@dataclass(frozen=True, slots=True)
class VkAccount:
    """A community's Callback API server settings, and the scope its receipts and replies
    are recorded under (the interface that sends its messages)."""

    scope: str
    secret: str
    confirmation: str


class VkCallback:
    """The Callback API server of the environment's community and of the VK provider
    interfaces': a callback is the account's named by the path (/vk/callback/{interface
    id}), else the one whose community is the payload's group_id, else the
    environment's."""

    def __init__(
        self,
        core: delivery_service_pb2_grpc.DeliveryServiceAsyncStub,
        group_id: int,
        account: VkAccount,
        core_timeout: float,
    ) -> None:
        self._core = core
        self._timeout = core_timeout
        self._group_id = group_id
        self._account = account
        # The VK provider interfaces' accounts by community id and by interface id
        # (the messenger service keeps them in step with the settings).
        self.by_group: dict[int, VkAccount] = {}
        self.by_interface: dict[str, VkAccount] = {}
        self._receipts: dict[str, ReceiptRecorder] = {}
        self._replies: dict[str, InboundRecorder] = {}
        self._done: OrderedDict[tuple[str, str], None] = OrderedDict()

    def _accounts_of(self, request: web.Request, doc: dict[str, object]) -> list[VkAccount]:
        """The accounts a callback may be for: the path's interface, else the interface
        of the payload's community and the environment's."""
        named = request.match_info.get("interface")
        if named is not None:
            return [self.by_interface[named]] if named in self.by_interface else []
        group = doc.get("group_id")
        out = [self.by_group[group]] if isinstance(group, int) and group in self.by_group else []
        if group in (None, self._group_id) or not out:
            out.append(self._account)
        return out

    async def handle(self, request: web.Request) -> web.Response:
        try:
            doc = json.loads(await request.read())
        except ValueError:
            return web.Response(status=400, text="the body is not JSON")
        if not isinstance(doc, dict):
            return web.Response(status=400, text="the body is not a JSON object")
        given = str(doc.get("secret") or "").encode()
        account = next(
            (
                a
                for a in self._accounts_of(request, doc)
                if given and a.secret and hmac.compare_digest(given, a.secret.encode())
            ),
            None,
        )
        if account is None:
            log.warning("vk_callback_bad_secret", extra={"path": request.path})
            return web.Response(status=401, text="bad or missing secret")
        if doc.get("type") == "confirmation":
            return web.Response(text=account.confirmation)
        event_id = (account.scope, str(doc.get("event_id") or ""))
        if event_id[1] and event_id in self._done:
            return web.Response(text="ok")
        try:
            event = vk_wire.event_of(doc)
            message = vk_wire.user_message_of(doc)
        except ValueError as err:
            return web.Response(status=400, text=str(err))
        if event is not None and not await self._recorder(account.scope).record([event]):
            return web.Response(status=503, text="try again")
        if message is not None and not await self._reply(account.scope, message):
            return web.Response(status=503, text="try again")
        if event_id[1]:
            self._done[event_id] = None
            while len(self._done) > _REMEMBERED:
                self._done.popitem(last=False)
        return web.Response(text="ok")

    async def _reply(self, scope: str, m: vk_wire.UserMessage) -> bool:
        """A user's message to core as MO from the number we wrote to (core knows the
        user by the peer of our message's receipts); a user we never wrote to is logged
        and answered "ok" (VK would send it again forever)."""
        replies = self._replies.get(scope)
        if replies is None:
            replies = InboundRecorder(
                "vk", channel_pb2.CHANNEL_VK, self._core, scope, self._timeout
            )
            self._replies[scope] = replies
        reply = Reply(
            provider_id=f"{scope}:{m.key}",
            sender="",
            destination="",
            text=m.text,
            at=m.at,
            media_url=m.media_url,
            reply_to_operator_id=m.reply_to_operator_id,
            peer=m.peer,
        )
        ids = await replies.stored([reply])
        if ids is None:
            return False
        if not any(ids):
            log.warning("vk_reply_from_unknown_user", extra={"interface": scope, "peer": m.peer})
        return True

    def _recorder(self, scope: str) -> ReceiptRecorder:
        recorder = self._receipts.get(scope)
        if recorder is None:
            recorder = ReceiptRecorder("vk", self._core, scope, self._timeout)
            self._receipts[scope] = recorder
        return recorder


def add_routes(app: web.Application, callback: VkCallback) -> None:
    app.router.add_post("/vk/callback", callback.handle)
    app.router.add_post("/vk/callback/{interface}", callback.handle)
