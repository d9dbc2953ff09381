"""Partner accounts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address

import psycopg

from rcs_core.auth.passwords import hash_password
from rcs_core.messages.channel_grants import ChannelGrant, Grants


@dataclass(frozen=True, slots=True)
class Partner:
    id: int
    login: str
    password_hash: str
    default_sender: str
    default_ttl_seconds: int
    block_duplicates: bool = False
    duplicate_window_seconds: int = 86400
    # Networks the login may connect from; empty: any (psycopg returns cidr as ip_network).
    allowed_subnets: tuple[IPv4Network | IPv6Network, ...] = ()
    max_smpp_sessions: int = 0  # bound at once over every SMPP gateway; 0: no limit
    # Senders it owns besides default_sender (migration 0028).
    senders: frozenset[str] = frozenset()
    # Checked at SMPP binds instead of password_hash when set (an SMPP bind carries at most
    # 8 password characters).
    smpp_password_hash: str | None = None
    smpp_standard_tlvs_only: bool = False  # deliver_sm without Rapporto's own TLVs
    # Messenger channels it may use (migration 0120); None: no channel settings, any.
    channels: Grants = None
    # The message type of a plain HTTP v5 request (migration 0110).
    service_type: str = "SMS"

    @property
    def owned_senders(self) -> frozenset[str]:
        """Every sender the partner may send from."""
        return self.senders | {self.default_sender} if self.default_sender else self.senders

    @property
    def smpp_hash(self) -> str:
        return self.smpp_password_hash or self.password_hash

    def allows(self, remote_ip: str) -> bool:
        if not self.allowed_subnets:
            return True
        try:
            address = ip_address(remote_ip)
        except ValueError:
            return False  # unknown address and a list to check: refuse
        return any(address in net for net in self.allowed_subnets)


async def by_login(conn: psycopg.AsyncConnection, login: str) -> Partner | None:
    cur = await conn.execute(
        "SELECT id, login, password_hash, default_sender, default_ttl_seconds,"
        " block_duplicates, duplicate_window_seconds, allowed_subnets, max_smpp_sessions,"
        " senders, smpp_password_hash, smpp_standard_tlvs_only, service_type"
        " FROM partners WHERE login = %s",
        (login,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    pid, name, pw_hash, sender, ttl, block, window, subnets, sessions, senders, *rest = row
    smpp, std, kind = rest
    grants = await channel_grants(conn, name)
    return Partner(
        pid,
        name,
        pw_hash,
        sender,
        ttl,
        block,
        window,
        tuple(subnets),
        sessions,
        frozenset(senders),
        smpp,
        std,
        grants,
        kind,
    )


async def channel_grants(conn: psycopg.AsyncConnection, login: str) -> Grants:
    cur = await conn.execute(
        "SELECT channel, identities, templates, default_ttl_seconds FROM partner_channels"
        " WHERE partner = %s",
        (login,),
    )
    rows = await cur.fetchall()
    # Deny by default (migration 0141): a partner without a row has no messenger channel.
    return {
        channel: ChannelGrant(
            frozenset(identities),
            {(t["name"], t["language"]): int(t["parameter_count"]) for t in templates},
            dt.timedelta(seconds=ttl) if ttl else None,
        )
        for channel, identities, templates, ttl in rows
    }


async def upsert(
    conn: psycopg.AsyncConnection,
    login: str,
    password: str,
    *,
    default_sender: str = "",
    default_ttl_seconds: int = 86400,
    senders: Sequence[str] = (),
) -> int:
    """Create or reset a partner (demo data, tools, tests); ``senders``: those it owns
    besides ``default_sender``."""
    cur = await conn.execute(
        "INSERT INTO partners (login, password_hash, default_sender, default_ttl_seconds,"
        " senders) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (login) DO UPDATE SET"
        " password_hash = EXCLUDED.password_hash, default_sender = EXCLUDED.default_sender,"
        " default_ttl_seconds = EXCLUDED.default_ttl_seconds, senders = EXCLUDED.senders"
        " RETURNING id",
        (login, hash_password(password), default_sender, default_ttl_seconds, sorted(senders)),
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])
