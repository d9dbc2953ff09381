"""What a partner may use on each messenger channel (the partner-channel settings,
rcs_core.settings.partner_channels), as the accept path checks it: pure, no I/O."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from rcs.common.v1 import message_pb2
from rcs_runtime import channels
from rcs_runtime.errors import RcsError, Reason


@dataclass(frozen=True, slots=True)
class ChannelGrant:
    identities: frozenset[str]  # empty: any sender
    templates: Mapping[tuple[str, str], int]  # (name, language) → parameter count
    default_ttl: dt.timedelta | None  # None: the partner's default


# Per messenger channel the partner was granted (none granted: empty, every messenger
# channel refused); None: not checked (a message core makes itself, e.g. a cascade's next
# link, checked when it was accepted).
Grants = Mapping[int, ChannelGrant] | None


def grant_of(grants: Grants, channel: int, field: str) -> ChannelGrant | None:
    """The partner's grant of ``channel``; INVALID_MESSAGE_TYPE when it has none (the
    channel is not enabled for the login: deny by default)."""
    if grants is None:
        return None
    grant = grants.get(channel)
    if grant is None:
        name = channels.name_of(channel)
        enabled = ", ".join(channels.name_of(c) for c in sorted(grants)) or "none"
        raise RcsError(
            Reason.INVALID_MESSAGE_TYPE,
            f"{name} is not enabled for this login (enabled: {enabled}); the administrator"
            " enables it with `rcs settings partner-channels put`",
            field=f"{field}channel",
        )
    return grant


def check_identity(grant: ChannelGrant | None, sender: str, channel: int, field: str) -> None:
    if grant is None or not grant.identities or sender in grant.identities:
        return
    raise RcsError(
        Reason.INVALID_SENDER,
        f"{sender!r} is not one of this login's {channels.name_of(channel)} senders"
        f" ({', '.join(sorted(grant.identities))}); the administrator assigns them",
        field=f"{field}sender",
    )


def check_template(
    grant: ChannelGrant | None, content: message_pb2.ViberContent, field: str
) -> None:
    """A WhatsApp template send names a template the partner has, in that language, with
    its number of parameters."""
    if not content.template_name:
        return
    have = grant.templates if grant is not None else {}
    key = (content.template_name, content.template_language)
    if key not in have:
        known = ", ".join(f"{n} ({lang})" for n, lang in sorted(have)) or "none"
        raise RcsError(
            Reason.INVALID_REQUEST,
            f"template {content.template_name!r} in {content.template_language!r} is not one"
            f" of this login's WhatsApp templates ({known})",
            field=f"{field}template",
        )
    if len(content.template_parameters) != have[key]:
        raise RcsError(
            Reason.INVALID_REQUEST,
            f"template {content.template_name!r} takes {have[key]} parameters, got"
            f" {len(content.template_parameters)}",
            field=f"{field}template.parameters",
        )
