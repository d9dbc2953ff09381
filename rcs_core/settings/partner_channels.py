"""The partner-channel entity (issue 17): per partner and messenger channel, the sender
identities it may use, its WhatsApp templates and the channel's default TTL. Its typed
state, pure validator, key, row SQL and spec; core's accept path reads it through
``rcs_core.auth.partners_store`` (``Partner.channels``)."""

from __future__ import annotations

import json
import re
from typing import TypedDict

from rcs.core.v1 import settings_service_pb2 as ss
from rcs_core.settings.spec import Conn, Spec
from rcs_runtime import channels
from rcs_runtime.errors import RcsError, Reason

# The channels a partner is given one by one (SMS senders are the partner's own `senders`,
# push goes to the partner's own applications).
MESSENGERS = frozenset(
    {channels.VIBER, channels.WHATSAPP, channels.VK, channels.TELEGRAM, channels.FLASHINGCALL}
)
_LOGIN = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
_TEMPLATE_NAME = re.compile(r"[a-z0-9_]{1,512}")  # WhatsApp's rule for template names
_LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?")  # e.g. "ru", "en_US"
MAX_IDENTITIES = 100
MAX_TEMPLATES = 250  # WhatsApp's default limit of templates per business account
MAX_TEMPLATE_PARAMETERS = 20


class TemplateState(TypedDict):
    name: str
    language: str
    parameter_count: int


class PartnerChannelState(TypedDict):
    partner: str
    channel: int
    identities: list[str]  # sorted; empty: any
    templates: list[TemplateState]  # sorted by (name, language); WhatsApp only
    default_ttl_seconds: int  # 0: the partner's default


def validate(p: ss.PartnerChannel) -> PartnerChannelState:
    """A partner-channel row, or RcsError naming the field."""
    if not _LOGIN.fullmatch(p.partner):
        raise RcsError(Reason.INVALID_REQUEST, "partner: a login", field="partner")
    if p.channel not in MESSENGERS:
        names = ", ".join(channels.name_of(c) for c in sorted(MESSENGERS))
        raise RcsError(
            Reason.INVALID_REQUEST,
            f"channel {channels.name_of(p.channel)}: partner channels are {names}",
            field="channel",
        )
    identities = sorted(set(p.identities))
    if len(identities) > MAX_IDENTITIES or any(not 1 <= len(i) <= 64 for i in identities):
        raise RcsError(
            Reason.INVALID_REQUEST,
            f"identities: at most {MAX_IDENTITIES}, each 1-64 characters",
            field="identities",
        )
    if p.templates and p.channel != channels.WHATSAPP:
        raise RcsError(
            Reason.INVALID_REQUEST, "templates are for the WHATSAPP channel", field="templates"
        )
    templates: dict[tuple[str, str], TemplateState] = {}
    for t in p.templates:
        if not _TEMPLATE_NAME.fullmatch(t.name):
            raise RcsError(
                Reason.INVALID_REQUEST,
                f"template name {t.name!r}: 1-512 of a-z 0-9 _ (WhatsApp's rule)",
                field="templates.name",
            )
        if not _LANGUAGE.fullmatch(t.language):
            raise RcsError(
                Reason.INVALID_REQUEST,
                f"template {t.name!r}: language like ru or en_US",
                field="templates.language",
            )
        if not 0 <= t.parameter_count <= MAX_TEMPLATE_PARAMETERS:
            raise RcsError(
                Reason.INVALID_REQUEST,
                f"template {t.name!r}: parameter_count 0 to {MAX_TEMPLATE_PARAMETERS}",
                field="templates.parameter_count",
            )
        if (t.name, t.language) in templates:
            raise RcsError(
                Reason.INVALID_REQUEST,
                f"template {t.name!r} in {t.language!r} is named twice",
                field="templates",
            )
        templates[t.name, t.language] = TemplateState(
            name=t.name, language=t.language, parameter_count=t.parameter_count
        )
    if len(templates) > MAX_TEMPLATES:
        raise RcsError(
            Reason.INVALID_REQUEST, f"at most {MAX_TEMPLATES} templates", field="templates"
        )
    if p.default_ttl_seconds:
        limits = channels.LIMITS[p.channel]
        low, high = int(limits.min_ttl.total_seconds()), int(limits.max_ttl.total_seconds())
        step = int(channels.WHATSAPP_TTL_STEP.total_seconds())
        if not low <= p.default_ttl_seconds <= high or (
            p.channel == channels.WHATSAPP and p.default_ttl_seconds % step
        ):
            whole = " in whole days" if p.channel == channels.WHATSAPP else ""
            raise RcsError(
                Reason.INVALID_TTL,
                f"default_ttl_seconds: 0 (the partner's default) or {low} to {high}{whole}",
                field="default_ttl_seconds",
            )
    return PartnerChannelState(
        partner=p.partner,
        channel=int(p.channel),
        identities=identities,
        templates=[templates[k] for k in sorted(templates)],
        default_ttl_seconds=p.default_ttl_seconds,
    )


def key(s: PartnerChannelState) -> str:
    return key_of(s["partner"], s["channel"])


def key_of(partner: str, channel: int) -> str:
    """login|channel number (logins have no '|')."""
    return f"{partner}|{channel}"


async def read(conn: Conn, row_key: str) -> PartnerChannelState | None:
    partner, channel = row_key.rsplit("|", 1)
    cur = await conn.execute(
        "SELECT identities, templates, default_ttl_seconds FROM partner_channels"
        " WHERE partner = %s AND channel = %s",
        (partner, int(channel)),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return PartnerChannelState(
        partner=partner,
        channel=int(channel),
        identities=list(row[0]),
        templates=[
            TemplateState(
                name=str(t["name"]),
                language=str(t["language"]),
                parameter_count=int(t["parameter_count"]),
            )
            for t in row[1]
        ],
        default_ttl_seconds=row[2],
    )


async def write(conn: Conn, row_key: str, state: PartnerChannelState | None) -> None:
    partner, channel = row_key.rsplit("|", 1)
    if state is None:
        await conn.execute(
            "DELETE FROM partner_channels WHERE partner = %s AND channel = %s",
            (partner, int(channel)),
        )
        return
    await conn.execute(
        "INSERT INTO partner_channels (partner, channel, identities, templates,"
        " default_ttl_seconds) VALUES (%s, %s, %s, %s::jsonb, %s)"
        " ON CONFLICT (partner, channel) DO UPDATE SET identities = EXCLUDED.identities,"
        " templates = EXCLUDED.templates, default_ttl_seconds = EXCLUDED.default_ttl_seconds",
        (
            partner,
            int(channel),
            state["identities"],
            json.dumps(state["templates"]),
            state["default_ttl_seconds"],
        ),
    )


def out(s: PartnerChannelState) -> ss.PartnerChannel:
    return ss.PartnerChannel(
        partner=s["partner"],
        channel=s["channel"],  # type: ignore[arg-type]
        identities=s["identities"],
        templates=[ss.WhatsappTemplate(**t) for t in s["templates"]],
        default_ttl_seconds=s["default_ttl_seconds"],
    )


# Rank 1: it refers to its partner (rank 0), so it comes back after and goes away before.
PARTNER_CHANNEL: Spec[PartnerChannelState, ss.PartnerChannel] = Spec(
    "partner_channel", 1, validate, key, read, write
)


async def grant_every_messenger(conn: Conn, partner: str) -> None:
    """Every messenger channel, any sender, to ``partner`` (what it keeps that it has):
    a test fixture's partner, without a settings revision (`rcs seed-demo` grants them
    through SettingsService.PutPartnerChannel)."""
    await conn.execute(
        "INSERT INTO partner_channels (partner, channel) SELECT %s, c"
        " FROM unnest(%s::smallint[]) AS c ON CONFLICT DO NOTHING",
        (partner, sorted(MESSENGERS)),
    )
