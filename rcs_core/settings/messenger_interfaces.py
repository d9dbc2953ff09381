"""The messenger-interface entity (issue 17): one provider account of a messenger channel,
its API, credentials, priority and whether it is enabled. Its typed state, pure validator,
row SQL and spec; the dispatcher (rcs_core.delivery.messenger_routes) and the messenger
service read it through settings_read.messenger_interfaces (migration 0121)."""

from __future__ import annotations

import re
from typing import TypedDict

from rcs.core.v1 import settings_service_pb2 as ss
from rcs_core.settings.partner_channels import MESSENGERS
from rcs_core.settings.spec import Conn, Spec
from rcs_runtime import channels
from rcs_runtime.errors import RcsError, Reason

_ID = re.compile(r"[a-z0-9_.-]{1,64}")
SECRETS = (
    "token",
    "webhook_secret",
    "webhook_verify",
)  # write-only: never answered, redacted in the audit


class MessengerInterfaceState(TypedDict):
    id: str
    channel: int
    priority: int
    enabled: bool
    api_url: str
    account: str
    token: str
    webhook_secret: str
    webhook_verify: str  # 0136: VK's confirmation string, WhatsApp's verify token


def validate(m: ss.MessengerInterface) -> MessengerInterfaceState:
    if not _ID.fullmatch(m.id):
        raise RcsError(Reason.INVALID_REQUEST, "id: 1-64 of a-z 0-9 _ . -", field="id")
    if m.channel not in MESSENGERS:
        names = ", ".join(channels.name_of(c) for c in sorted(MESSENGERS))
        raise RcsError(Reason.INVALID_REQUEST, f"channel: one of {names}", field="channel")
    if not m.api_url.startswith(("http://", "https://")) or len(m.api_url) > 2048:
        raise RcsError(
            Reason.INVALID_REQUEST,
            "api_url: the provider's API base, http:// or https://",
            field="api_url",
        )
    if m.channel in (channels.WHATSAPP, channels.VK) and not m.account:
        what = (
            "the business number's phone-number id"
            if m.channel == channels.WHATSAPP
            else ("the community id")
        )
        raise RcsError(Reason.INVALID_REQUEST, f"account: {what}", field="account")
    if m.channel == channels.VK and not m.account.isdigit():
        raise RcsError(
            Reason.INVALID_REQUEST, "account: the VK community id (digits)", field="account"
        )
    return MessengerInterfaceState(
        id=m.id,
        channel=int(m.channel),
        priority=m.priority,
        enabled=m.enabled,
        api_url=m.api_url,
        account=m.account,
        token=m.token,
        webhook_secret=m.webhook_secret,
        webhook_verify=m.webhook_verify,
    )


def keep_secrets(
    state: MessengerInterfaceState, before: MessengerInterfaceState | None
) -> MessengerInterfaceState:
    """An empty secret in a put keeps the stored one; a new interface needs its token."""
    out = MessengerInterfaceState(**state)
    for name in SECRETS:
        if not out[name] and before is not None:  # type: ignore[literal-required]
            out[name] = before.get(name, "")  # type: ignore[literal-required]
    if not out["token"]:
        raise RcsError(
            Reason.INVALID_REQUEST, "token: the provider account's access token", field="token"
        )
    return out


def _key(s: MessengerInterfaceState) -> str:
    return s["id"]


_COLUMNS = "channel, priority, enabled, api_url, account, token, webhook_secret, webhook_verify"


async def read(conn: Conn, key: str) -> MessengerInterfaceState | None:
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM messenger_interfaces WHERE id = %s",  # noqa: S608 (constant)
        (key,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    channel, priority, enabled, api_url, account, token, secret, verify = row
    return MessengerInterfaceState(
        id=key,
        channel=channel,
        priority=priority,
        enabled=enabled,
        api_url=api_url,
        account=account,
        token=token,
        webhook_secret=secret,
        webhook_verify=verify,
    )


async def write(conn: Conn, key: str, state: MessengerInterfaceState | None) -> None:
    if state is None:
        await conn.execute("DELETE FROM messenger_interfaces WHERE id = %s", (key,))
        return
    await conn.execute(
        f"INSERT INTO messenger_interfaces (id, {_COLUMNS})"  # noqa: S608 (constant)
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET"
        " channel = EXCLUDED.channel, priority = EXCLUDED.priority,"
        " enabled = EXCLUDED.enabled, api_url = EXCLUDED.api_url, account = EXCLUDED.account,"
        " token = EXCLUDED.token, webhook_secret = EXCLUDED.webhook_secret,"
        " webhook_verify = EXCLUDED.webhook_verify",
        (
            key,
            state["channel"],
            state["priority"],
            state["enabled"],
            state["api_url"],
            state["account"],
            state["token"],
            state["webhook_secret"],
            state.get("webhook_verify", ""),  # a revision from before 0136 has none
        ),
    )


def out(s: MessengerInterfaceState) -> ss.MessengerInterface:
    """Without its secrets."""
    return ss.MessengerInterface(
        id=s["id"],
        channel=s["channel"],  # type: ignore[arg-type]
        priority=s["priority"],
        enabled=s["enabled"],
        api_url=s["api_url"],
        account=s["account"],
    )


MESSENGER_INTERFACE: Spec[MessengerInterfaceState, ss.MessengerInterface] = Spec(
    "messenger_interface", 0, validate, _key, read, write
)
