"""gRPC edge of settings: SettingsService (partners, black lists, operators, interfaces,
revisions, rollback); the routing-policy RPCs come from rcs_core.settings.policy, inbound
routes from rcs_core.settings.inbound, API keys from rcs_core.settings.api_keys."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
from typing import Any

from google.protobuf import timestamp_pb2

from rcs.core.v1 import settings_service_pb2 as ss
from rcs_core.auth.passwords import hash_password
from rcs_core.messages.numbers import normalize_msisdn
from rcs_core.messages.validation import check_report_url
from rcs_core.settings import store
from rcs_core.settings.api_keys import ApiKeySettings
from rcs_core.settings.audit import AuditSettings
from rcs_core.settings.inbound import InboundRouteSettings
from rcs_core.settings.policy import Ctx, R, _commit, _page, _require, _token
from rcs_core.settings.store import Change, State
from rcs_runtime.errors import RcsError, Reason

_LOGIN = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
_PARTNER_MASK = {
    "default_sender",
    "default_ttl_seconds",
    "block_duplicates",
    "duplicate_window_seconds",
    "allowed_subnets",
    "report_url",
    "inbound_url",
    "max_smpp_sessions",
    "smpp_standard_tlvs_only",
    "password",
    "senders",
    "smpp_password",
}
MAX_SENDER_CHARS = 21
MAX_SMPP_PASSWORD_CHARS = 8  # an SMPP 3.4 bind's password is a C-string of 9 octets


def _partner_out(state: dict[str, Any]) -> ss.Partner:
    return ss.Partner(
        login=state["login"],
        default_sender=state["default_sender"],
        default_ttl_seconds=state["default_ttl_seconds"],
        block_duplicates=state["block_duplicates"],
        duplicate_window_seconds=state["duplicate_window_seconds"],
        allowed_subnets=state.get("allowed_subnets", []),
        report_url=state.get("report_url", ""),
        inbound_url=state.get("inbound_url", ""),
        max_smpp_sessions=state.get("max_smpp_sessions", 0),
        senders=state.get("senders", []),
        has_smpp_password=bool(state.get("smpp_password_hash")),
        smpp_standard_tlvs_only=state.get("smpp_standard_tlvs_only", False),
    )


def _senders(values: Any) -> list[str]:
    """The partner's senders, sorted and once each, or INVALID_SENDER naming the bad one."""
    out = set()
    for value in values:
        if not 1 <= len(value) <= MAX_SENDER_CHARS or value != value.strip():
            raise RcsError(
                Reason.INVALID_SENDER,
                f"senders: {value!r} must be 1 to {MAX_SENDER_CHARS} characters, no outer spaces",
                field="senders",
            )
        out.add(value)
    return sorted(out)


def _check_smpp_password(password: str) -> None:
    if not 1 <= len(password) <= MAX_SMPP_PASSWORD_CHARS or not (
        password.isascii() and password.isprintable()
    ):
        raise RcsError(
            Reason.INVALID_REQUEST,
            f"smpp_password must be 1 to {MAX_SMPP_PASSWORD_CHARS} printable ASCII characters:"
            " an SMPP bind carries no more",
            field="smpp_password",
        )


def _subnets(values: Any) -> list[str]:
    """Normalised CIDRs ("10.1.2.3/8" → "10.0.0.0/8"), or INVALID_REQUEST naming the bad one."""
    out = []
    for value in values:
        try:
            out.append(str(ipaddress.ip_network(value, strict=False)))
        except ValueError as exc:
            raise RcsError(
                Reason.INVALID_REQUEST,
                f"allowed_subnets: {value!r} is not a subnet"
                " (e.g. 203.0.113.0/24 or 2001:db8::/32)",
                field="allowed_subnets",
            ) from exc
    return sorted(set(out))


def _interface_out(state: dict[str, Any]) -> ss.Interface:
    return ss.Interface(**{k: v for k, v in state.items() if k != "password"})


def _check_partner(p: ss.Partner) -> None:
    if not _LOGIN.fullmatch(p.login):
        raise RcsError(Reason.INVALID_REQUEST, "login: 1-64 of A-Z a-z 0-9 _ . @ -", field="login")
    if len(p.default_sender) > 21:
        raise RcsError(Reason.INVALID_SENDER, "default_sender is at most 21 characters")
    if not 1 <= p.default_ttl_seconds <= 2880 * 60:
        raise RcsError(Reason.INVALID_TTL, "default_ttl_seconds must be 1 to 172800")
    if p.duplicate_window_seconds < 1:
        raise RcsError(Reason.INVALID_REQUEST, "duplicate_window_seconds must be positive")
    if p.max_smpp_sessions < 0:
        raise RcsError(
            Reason.INVALID_REQUEST,
            "max_smpp_sessions is 0 (no limit) or more",
            field="max_smpp_sessions",
        )
    for field in ("report_url", "inbound_url"):
        url = getattr(p, field)
        if url:  # "" turns the callbacks off
            check_report_url(url, field=field)


def _redacted(changes: Any) -> str:
    for c in changes:
        for side in ("before", "after"):
            for secret in ("password_hash", "password", "smpp_password_hash"):
                if c[side] and secret in c[side]:
                    c[side][secret] = "<redacted>"
    return json.dumps(changes, ensure_ascii=False)


class SettingsServicer(InboundRouteSettings, ApiKeySettings, AuditSettings):
    """The one SettingsService servicer: these RPCs plus those of InboundRouteSettings and
    the PolicySettings it extends (and their _mutate), and ApiKeySettings'."""

    async def CreatePartner(
        self, request: ss.CreatePartnerRequest, context: Ctx
    ) -> ss.CreatePartnerResponse:
        p = request.partner
        p.default_ttl_seconds = p.default_ttl_seconds or 86400
        p.duplicate_window_seconds = p.duplicate_window_seconds or 86400
        _check_partner(p)
        if not request.password:
            raise RcsError(Reason.INVALID_REQUEST, "a partner needs a password", field="password")
        if request.smpp_password:
            _check_smpp_password(request.smpp_password)

        async def work(conn: Any) -> ss.CreatePartnerResponse:
            if await store.partner_state(conn, p.login) is not None:
                raise RcsError(Reason.INVALID_REQUEST, f"partner {p.login!r} exists: update it")
            state = {
                "login": p.login,
                "password_hash": await asyncio.to_thread(hash_password, request.password),
                "default_sender": p.default_sender,
                "default_ttl_seconds": p.default_ttl_seconds,
                "block_duplicates": p.block_duplicates,
                "duplicate_window_seconds": p.duplicate_window_seconds,
                "allowed_subnets": _subnets(p.allowed_subnets),
                "report_url": p.report_url,
                "inbound_url": p.inbound_url,
                "max_smpp_sessions": p.max_smpp_sessions,
                "senders": _senders(p.senders),
                "smpp_password_hash": (
                    await asyncio.to_thread(hash_password, request.smpp_password)
                    if request.smpp_password
                    else None
                ),
                "smpp_standard_tlvs_only": p.smpp_standard_tlvs_only,
            }
            await store.put_partner(conn, p.login, state)
            revision = await _commit(
                conn,
                request.actor,
                summary=f"create partner {p.login}",
                changes=[Change("partner", p.login, None, state)],
            )
            return ss.CreatePartnerResponse(partner=_partner_out(state), revision=revision)

        return await self._mutate(request, ss.CreatePartnerResponse, work)

    async def UpdatePartner(
        self, request: ss.UpdatePartnerRequest, context: Ctx
    ) -> ss.UpdatePartnerResponse:
        paths = set(request.update_mask.paths)
        if not paths or not paths <= _PARTNER_MASK:
            raise RcsError(
                Reason.INVALID_REQUEST,
                f"update_mask must name some of {', '.join(sorted(_PARTNER_MASK))}",
                field="update_mask",
            )
        if "password" in paths and not request.password:
            raise RcsError(Reason.INVALID_REQUEST, "password is empty", field="password")
        if "smpp_password" in paths and request.smpp_password:
            _check_smpp_password(request.smpp_password)

        async def work(conn: Any) -> ss.UpdatePartnerResponse:
            before = await store.partner_state(conn, request.partner.login)
            if before is None:
                raise RcsError(Reason.NOT_FOUND, f"no partner {request.partner.login!r}")
            after = dict(before)
            for path in paths - {"password", "allowed_subnets", "senders", "smpp_password"}:
                after[path] = getattr(request.partner, path)
            if "allowed_subnets" in paths:
                after["allowed_subnets"] = _subnets(request.partner.allowed_subnets)
            if "senders" in paths:
                after["senders"] = _senders(request.partner.senders)
            if "smpp_password" in paths:
                after["smpp_password_hash"] = (
                    await asyncio.to_thread(hash_password, request.smpp_password)
                    if request.smpp_password
                    else None
                )
            if "password" in paths:
                after["password_hash"] = await asyncio.to_thread(hash_password, request.password)
            _check_partner(_partner_out(after))
            await store.put_partner(conn, after["login"], after)
            revision = await _commit(
                conn,
                request.actor,
                summary=f"update partner {after['login']}: {', '.join(sorted(paths))}",
                changes=[Change("partner", after["login"], before, after)],
            )
            return ss.UpdatePartnerResponse(partner=_partner_out(after), revision=revision)

        return await self._mutate(request, ss.UpdatePartnerResponse, work)

    async def GetPartner(
        self, request: ss.GetPartnerRequest, context: Ctx
    ) -> ss.GetPartnerResponse:
        async with self._pool.connection() as conn:
            state = await store.partner_state(conn, request.login)
        if state is None:
            raise RcsError(Reason.NOT_FOUND, f"no partner {request.login!r}")
        return ss.GetPartnerResponse(partner=_partner_out(state))

    async def ListPartners(
        self, request: ss.ListPartnersRequest, context: Ctx
    ) -> ss.ListPartnersResponse:
        after, size = _page(request.page_token, request.page_size)
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT login FROM partners WHERE login > %s ORDER BY login LIMIT %s",
                (after, size + 1),
            )
            logins = [row[0] for row in await cur.fetchall()]
            states = [await store.partner_state(conn, login) for login in logins[:size]]
        return ss.ListPartnersResponse(
            partners=[_partner_out(s) for s in states if s is not None],
            next_page_token=_token(logins[size - 1]) if len(logins) > size else "",
        )

    async def _blacklist_change(self, request: Any, response_type: type[R], add: bool) -> R:
        rows = []
        for e in request.entries:
            number = normalize_msisdn(e.number)
            if number is None:
                raise RcsError(Reason.INVALID_DESTINATION, f"{e.number!r} is not a number")
            state = {"partner": e.partner, "number": number, "note": e.note}
            rows.append((e.partner, store.blacklist_key(e.partner, number), state))
        return await self._list_entries_change(
            request, response_type, entity="blacklist", rows=rows, add=add
        )

    async def AddBlacklistEntries(
        self, request: ss.AddBlacklistEntriesRequest, context: Ctx
    ) -> ss.AddBlacklistEntriesResponse:
        return await self._blacklist_change(request, ss.AddBlacklistEntriesResponse, add=True)

    async def RemoveBlacklistEntries(
        self, request: ss.RemoveBlacklistEntriesRequest, context: Ctx
    ) -> ss.RemoveBlacklistEntriesResponse:
        return await self._blacklist_change(request, ss.RemoveBlacklistEntriesResponse, add=False)

    async def ListBlacklistEntries(
        self, request: ss.ListBlacklistEntriesRequest, context: Ctx
    ) -> ss.ListBlacklistEntriesResponse:
        after, size = _page(request.page_token, request.page_size)
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT b.number, b.note, b.created_at FROM blacklist b"
                " LEFT JOIN partners p ON p.id = b.partner_id"
                " WHERE coalesce(p.login, '') = %s AND b.number > %s"
                " ORDER BY b.number LIMIT %s",
                (request.partner, after, size + 1),
            )
            rows = await cur.fetchall()
        entries = []
        for number, note, created in rows[:size]:
            ts = timestamp_pb2.Timestamp()
            ts.FromDatetime(created)
            entries.append(
                ss.BlacklistEntry(partner=request.partner, number=number, note=note, create_time=ts)
            )
        return ss.ListBlacklistEntriesResponse(
            entries=entries, next_page_token=_token(rows[size - 1][0]) if len(rows) > size else ""
        )

    async def PutOperator(
        self, request: ss.PutOperatorRequest, context: Ctx
    ) -> ss.PutOperatorResponse:
        o = request.operator
        if not o.name or len(o.name) > 128:
            raise RcsError(Reason.INVALID_REQUEST, "operator name: 1-128 characters", field="name")
        if len(set(o.interface_ids)) != len(o.interface_ids):
            raise RcsError(
                Reason.INVALID_REQUEST, "an interface is named twice", field="interface_ids"
            )
        after: dict[str, Any] = {
            "name": o.name,
            "mcc": o.mcc,
            "mnc": o.mnc,
            "interface_ids": list(o.interface_ids),
        }

        async def check(conn: Any, before: State) -> None:
            for interface_id in o.interface_ids:
                await _require(conn, "interface", interface_id, "interface_ids")

        return await self._put(
            request,
            ss.PutOperatorResponse,
            "operator",
            o.name,
            after,
            lambda st, rev: ss.PutOperatorResponse(operator=ss.Operator(**st), revision=rev),
            check,
        )

    async def ListOperators(
        self, request: ss.ListOperatorsRequest, context: Ctx
    ) -> ss.ListOperatorsResponse:
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT name FROM operators ORDER BY name")
            names = [row[0] for row in await cur.fetchall()]
            states = [await store.operator_state(conn, n) for n in names]
        return ss.ListOperatorsResponse(operators=[ss.Operator(**st) for st in states if st])

    async def PutInterface(
        self, request: ss.PutInterfaceRequest, context: Ctx
    ) -> ss.PutInterfaceResponse:
        i = request.interface
        if not re.fullmatch(r"[a-z0-9_.-]{1,64}", i.id):
            raise RcsError(
                Reason.INVALID_REQUEST, "interface id: 1-64 of a-z 0-9 _ . -", field="id"
            )
        if not i.host or not 1 <= i.port <= 65535:
            raise RcsError(Reason.INVALID_REQUEST, "host and a port 1-65535 are required")
        if not i.system_id or len(i.system_id) > 15 or len(i.password) > 8:
            raise RcsError(
                Reason.INVALID_REQUEST, "system_id is 1-15 characters and password at most 8 (SMPP)"
            )
        window = i.window_size or 10
        if not 1 <= window <= 1000 or i.throughput_per_second < 0:
            raise RcsError(Reason.INVALID_REQUEST, "window_size 1-1000, throughput_per_second >= 0")

        async def check(conn: Any, before: State) -> None:
            if before is None and not i.password:
                raise RcsError(Reason.INVALID_REQUEST, "a new interface needs its bind password")

        def state(before: State) -> dict[str, Any]:
            return {
                "id": i.id,
                "host": i.host,
                "port": i.port,
                "system_id": i.system_id,
                # Write-only: an empty password keeps the stored one.
                "password": i.password or (before or {}).get("password", ""),
                "system_type": i.system_type,
                "window_size": window,
                "throughput_per_second": i.throughput_per_second,
                "enabled": i.enabled,
            }

        return await self._put(
            request,
            ss.PutInterfaceResponse,
            "interface",
            i.id,
            state,
            lambda st, rev: ss.PutInterfaceResponse(interface=_interface_out(st), revision=rev),
            check,
        )

    async def DeleteInterface(
        self, request: ss.DeleteInterfaceRequest, context: Ctx
    ) -> ss.DeleteInterfaceResponse:
        async def check(conn: Any, before: State) -> None:
            cur = await conn.execute(
                "SELECT o.name FROM operator_routes r JOIN operators o ON o.id = r.operator_id"
                " WHERE r.interface_id = %s ORDER BY o.name",
                (request.id,),
            )
            users = [row[0] for row in await cur.fetchall()]
            cur = await conn.execute(
                "SELECT DISTINCT rule FROM routing_rule_targets WHERE interface_id = %s"
                " ORDER BY rule",
                (request.id,),
            )
            users += [f"routing rule {row[0]}" for row in await cur.fetchall()]
            if users:
                raise RcsError(
                    Reason.INVALID_REQUEST,
                    f"interface {request.id!r} is routed to by {', '.join(users)}: "
                    "take it out of their routes and targets first",
                )

        return await self._delete(
            request, ss.DeleteInterfaceResponse, "interface", request.id, check
        )

    async def ListInterfaces(
        self, request: ss.ListInterfacesRequest, context: Ctx
    ) -> ss.ListInterfacesResponse:
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT id FROM interfaces ORDER BY id")
            ids = [row[0] for row in await cur.fetchall()]
            states = [await store.interface_state(conn, i) for i in ids]
        return ss.ListInterfacesResponse(interfaces=[_interface_out(st) for st in states if st])

    async def GetVerificationPolicy(
        self, request: ss.GetVerificationPolicyRequest, context: Ctx
    ) -> ss.GetVerificationPolicyResponse:
        async with self._pool.connection() as conn:
            state = await store.policy_state(conn)
        assert state is not None  # the migration inserts the row
        return ss.GetVerificationPolicyResponse(policy=ss.VerificationPolicy(**state))

    async def UpdateVerificationPolicy(
        self, request: ss.UpdateVerificationPolicyRequest, context: Ctx
    ) -> ss.UpdateVerificationPolicyResponse:
        fields = set(ss.VerificationPolicy.DESCRIPTOR.fields_by_name)
        paths = set(request.update_mask.paths)
        if not paths or not paths <= fields:
            raise RcsError(
                Reason.INVALID_REQUEST,
                f"update_mask must name some of {', '.join(sorted(fields))}",
                field="update_mask",
            )

        async def work(conn: Any) -> ss.UpdateVerificationPolicyResponse:
            before = await store.policy_state(conn)
            assert before is not None
            after = dict(before)
            for path in paths:
                value = getattr(request.policy, path)
                after[path] = list(value) if path == "inactive_codes" else value
            if (
                after["inactive_threshold"] < 1
                or after["inactive_window_seconds"] < 1
                or after["inactive_ttl_seconds"] < 1
                or not after["inactive_codes"]
                or not all(1 <= c <= 99 for c in after["inactive_codes"])
            ):
                raise RcsError(
                    Reason.INVALID_REQUEST,
                    "threshold, window and ttl must be positive; codes are 1-99, at least one",
                )
            revision = 0
            if after != before:
                await store.put_policy(conn, "installation", after)
                revision = await _commit(
                    conn,
                    request.actor,
                    summary=f"update verification policy: {', '.join(sorted(paths))}",
                    changes=[Change("verification_policy", "installation", before, after)],
                )
            return ss.UpdateVerificationPolicyResponse(
                policy=ss.VerificationPolicy(**after), revision=revision
            )

        return await self._mutate(request, ss.UpdateVerificationPolicyResponse, work)

    async def ListRevisions(
        self, request: ss.ListRevisionsRequest, context: Ctx
    ) -> ss.ListRevisionsResponse:
        after, size = _page(request.page_token, request.page_size)
        before = int(after) if after else 2**62
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT revision, actor, remote_ip, created_at, summary, changes"
                " FROM settings_revisions WHERE revision < %s ORDER BY revision DESC LIMIT %s",
                (before, size + 1),
            )
            rows = await cur.fetchall()
        out = []
        for revision, actor, ip, created, summary, changes in rows[:size]:
            ts = timestamp_pb2.Timestamp()
            ts.FromDatetime(created)
            out.append(
                ss.Revision(
                    revision=revision,
                    actor=ss.Actor(login=actor, remote_ip=ip),
                    create_time=ts,
                    summary=summary,
                    changes_json=_redacted(changes),
                )
            )
        return ss.ListRevisionsResponse(
            revisions=out,
            next_page_token=_token(str(rows[size - 1][0])) if len(rows) > size else "",
        )

    async def RollbackSettings(
        self, request: ss.RollbackSettingsRequest, context: Ctx
    ) -> ss.RollbackSettingsResponse:
        async def work(conn: Any) -> ss.RollbackSettingsResponse:
            cur = await conn.execute("SELECT revision FROM settings_revision")
            row = await cur.fetchone()
            current = int(row[0]) if row else 0
            if not 1 <= request.revision <= current:
                raise RcsError(
                    Reason.NOT_FOUND,
                    f"no settings revision {request.revision}: revisions run 1 to {current}",
                )
            changes = await store.restore(conn, request.revision)
            revision = await _commit(
                conn,
                request.actor,
                summary=f"rollback to revision {request.revision}",
                changes=changes,
            )
            return ss.RollbackSettingsResponse(revision=revision, changed_count=len(changes))

        return await self._mutate(request, ss.RollbackSettingsResponse, work)
