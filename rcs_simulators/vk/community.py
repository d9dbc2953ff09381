"""The simulated VK community: messages.send's checks and answers, and what the user does
afterwards, as Callback API events to the community's server.

Wire shape (dev.vk.com/en/method/messages.send, dev.vk.com/en/api/callback/getting-started;
docs/vk.md): POST /method/messages.send with form parameters access_token (or
Authorization: Bearer), v, random_id (a repeat returns the first message's id and sends
nothing), message, and phone, the user's number (Rapporto's VK channel writes to a number,
http_vk.rst); HTTP 200 always, {"response": message_id} or {"error": {"error_code",
"error_msg"}}. Callbacks are JSON {type, event_id, v, object, group_id, secret}, taken when
the server answers "ok": message_reply (the community's message is in the user's dialog:
delivered; the message names the user as peer_id, which is how the community learns who
the number is, as on VK, where messages.send answers only the message id), message_read
(read_message_id) and, when a test makes a user write (POST /sim/reply), message_new
(dev.vk.com/en/api/callback/getting-started, object.message since API 5.103)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx

from rcs_simulators.callbacks import post_until_taken

# VK API error codes (dev.vk.com/en/reference/errors).
AUTH_FAILED, TOO_MANY_PER_SECOND, FLOOD_CONTROL, BAD_PARAMETER = 5, 6, 9, 100
NO_PERMISSION, PRIVACY, CONTACT_NOT_FOUND = 901, 902, 936
MAX_MESSAGE = 9000  # messages.send: "Max. length = 9000"
ACTIVE_DAYS = 7  # http_vk.rst: only users seen in the last 7 days get messages
API_VERSION = "5.199"


class VkError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Community:
    """One community: its token, Callback API server, users' behaviour, what it sent."""

    token: str
    group_id: int
    callback_url: str
    secret: str
    default_outcome: str
    outcomes: dict[str, str]
    rate_per_second: int
    daily_per_user: int
    deliver_delay: float
    read_delay: float
    retry_seconds: float
    attempts: int
    answer_delay: float = 0.0
    repeats: int = 0  # sends of a random_id already sent (answered with the first id)
    received: list[dict[str, Any]] = field(default_factory=list)
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    _by_random_id: dict[str, int] = field(default_factory=dict)
    _second: deque[float] = field(default_factory=deque)
    _today: dict[str, deque[float]] = field(default_factory=dict)
    _next_id: int = 1
    _written: dict[int, tuple[str, int]] = field(default_factory=dict)  # user → number, last
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=5.0))

    def outcome(self, phone: str) -> str:
        return self.outcomes.get(phone, self.default_outcome)

    def send(self, params: dict[str, str]) -> int:
        """The id of the message ``params`` asks for, or VkError as VK refuses it."""
        phone, text = params.get("phone", ""), params.get("message", "")
        random_id = params.get("random_id", "")
        if not phone.isdigit() or not text or not random_id.lstrip("-").isdigit():
            raise VkError(
                BAD_PARAMETER,
                "One of the parameters specified was missing or invalid:"
                " phone, message and random_id are required",
            )
        if len(text) > MAX_MESSAGE:
            raise VkError(BAD_PARAMETER, f"message is longer than {MAX_MESSAGE} characters")
        if random_id in self._by_random_id:  # VK sends a random_id once, ever
            self.repeats += 1
            return self._by_random_id[random_id]
        now = time.monotonic()
        while self._second and now - self._second[0] >= 1.0:
            self._second.popleft()
        if len(self._second) >= self.rate_per_second:
            raise VkError(TOO_MANY_PER_SECOND, "Too many requests per second")
        outcome = self.outcome(phone)
        if outcome == "nouser":
            raise VkError(CONTACT_NOT_FOUND, "Contact not found: no VK user has this number")
        if outcome == "inactive" and _last_seen(outcome) < _days_ago(ACTIVE_DAYS):
            raise VkError(
                NO_PERMISSION, f"Can't send messages: the user was not on VK in {ACTIVE_DAYS} days"
            )
        if outcome == "barred":
            raise VkError(PRIVACY, "Can't send messages to this user due to their privacy settings")
        day = self._today.setdefault(phone, deque())
        while day and now - day[0] >= 86400:
            day.popleft()
        if len(day) >= self.daily_per_user:
            raise VkError(
                FLOOD_CONTROL,
                f"Flood control: {self.daily_per_user} messages a day to one user from a community",
            )
        self._second.append(now)
        day.append(now)
        message_id = self._next_id
        self._next_id += 1
        self._by_random_id[random_id] = message_id
        self._written[_user_id(phone)] = (phone, message_id)
        self.received.append({**params, "message_id": message_id})
        self._spawn(self._user(outcome, message_id, phone, text, random_id))
        return message_id

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _user(self, outcome: str, message_id: int, phone: str, text: str, rid: str) -> None:
        await asyncio.sleep(self.deliver_delay)
        await self._callback(
            "message_reply",
            {
                "id": message_id,
                "date": int(time.time()),
                "peer_id": _user_id(phone),
                "from_id": -self.group_id,
                "out": 1,
                "text": text,
                "random_id": int(rid),
            },
        )
        if outcome == "read":
            await asyncio.sleep(self.read_delay)
            user = _user_id(phone)
            await self._callback(
                "message_read", {"from_id": user, "peer_id": user, "read_message_id": message_id}
            )

    def user_id_of(self, phone: str) -> int | None:
        """The user behind a number the community wrote to (None: it never did)."""
        user = _user_id(phone) if phone.isdigit() else 0
        return user if user in self._written else None

    async def user_writes(
        self, user: int, text: str, quote: bool = False, photo_url: str = ""
    ) -> dict[str, Any]:
        """The user writes to the community (its answer to our last message when
        ``quote``): message_new as VK's Callback API sends it (API 5.103+: the message in
        object.message, with client_info; a quoted message in reply_message, a photo in
        attachments with its sizes). Returns the callback."""
        message_id = self._next_id
        self._next_id += 1
        msg: dict[str, Any] = {
            "date": int(time.time()),
            "from_id": user,
            "id": message_id,
            "out": 0,
            "attachments": [],
            "conversation_message_id": message_id,
            "fwd_messages": [],
            "important": False,
            "is_hidden": False,
            "peer_id": user,
            "random_id": 0,
            "text": text,
        }
        if photo_url:
            sizes = [
                {"type": "m", "url": photo_url + "?size=m", "width": 130, "height": 97},
                {"type": "x", "url": photo_url, "width": 604, "height": 453},
            ]
            msg["attachments"] = [{"type": "photo", "photo": {"id": message_id, "sizes": sizes}}]
        if quote and user in self._written:
            quoted = self._written[user][1]
            msg["reply_message"] = {
                "date": int(time.time()),
                "from_id": -self.group_id,
                "id": quoted,
                "conversation_message_id": quoted,
                "peer_id": user,
                "text": "",
                "attachments": [],
            }
        obj = {"message": msg, "client_info": {"button_actions": ["text"], "keyboard": True}}
        return await self._callback("message_new", obj)

    async def _callback(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        doc = {
            "type": kind,
            "event_id": uuid.uuid4().hex,
            "v": API_VERSION,
            "object": obj,
            "group_id": self.group_id,
            "secret": self.secret,
        }
        if not self.callback_url:
            return doc
        body = json.dumps(doc).encode()
        self.callbacks.append(doc)
        await post_until_taken(
            self._http,
            self.callback_url,
            body,
            {"Content-Type": "application/json"},
            attempts=self.attempts,
            retry_seconds=self.retry_seconds,
            taken=lambda r: r.status_code == 200 and r.text.strip() == "ok",
        )
        return doc

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self._http.aclose()


def _user_id(phone: str) -> int:
    """A stable VK user id for a number (the simulator's own)."""
    return int(phone[-9:]) + 1


def _last_seen(outcome: str) -> dt.datetime:
    days = ACTIVE_DAYS + 1 if outcome == "inactive" else 0
    return _days_ago(days)


def _days_ago(days: int) -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
