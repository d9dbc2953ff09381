"""gRPC edge of settings: SettingsService, composed of groups of RPCs — partners, black
lists, operators, interfaces, revisions and rollback here (EntitySettings); the routing
policy in rcs_core.settings.policy, inbound routes in rcs_core.settings.inbound, API keys in
rcs_core.settings.api_keys, the audit log in rcs_core.settings.audit, number-plan imports in
rcs_core.settings.imports, administrators in rcs_core.settings.admin_rpcs. SettingsServicer,
the one registered servicer, holds one object of each group over the same pool and delegates
each RPC to the group that defines it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from typing import cast

from google.protobuf import timestamp_pb2
from psycopg_pool import AsyncConnectionPool

from rcs.core.v1 import settings_service_pb2 as ss
from rcs.core.v1 import settings_service_pb2_grpc
from rcs_core.auth.passwords import hash_password
from rcs_core.settings import entities, store, validate, writes
from rcs_core.settings.admin_rpcs import AdministratorSettings
from rcs_core.settings.api_keys import ApiKeySettings
from rcs_core.settings.audit import AuditSettings
from rcs_core.settings.imports import ImportSettings
from rcs_core.settings.inbound import InboundRouteSettings
from rcs_core.settings.partner_channel_rpcs import (
    MessengerInterfaceSettings,
    PartnerChannelSettings,
)
from rcs_core.settings.policy import PolicySettings, SettingsBase, _require
from rcs_core.settings.spec import Conn
from rcs_core.settings.states import (
    BlacklistState,
    ChangeRecord,
    InterfaceState,
    OperatorState,
    PartnerState,
    VerificationPolicyState,
)
from rcs_core.settings.store import Change
from rcs_core.settings.writes import Ctx, R, commit
from rcs_runtime.errors import RcsError, Reason

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
    "service_type",
    "password",
    "senders",
    "smpp_password",
}


def _partner_out(state: PartnerState) -> ss.Partner:
    return ss.Partner(
        login=state["login"],
        default_sender=state["default_sender"],
        default_ttl_seconds=state["default_ttl_seconds"],
        block_duplicates=state["block_duplicates"],
        duplicate_window_seconds=state["duplicate_window_seconds"],
        allowed_subnets=state["allowed_subnets"],
        report_url=state["report_url"],
        inbound_url=state["inbound_url"],
        max_smpp_sessions=state["max_smpp_sessions"],
        senders=state["senders"],
        has_smpp_password=bool(state["smpp_password_hash"]),
        smpp_standard_tlvs_only=state["smpp_standard_tlvs_only"],
        service_type=state["service_type"],
    )


def _interface_out(state: InterfaceState) -> ss.Interface:
    return ss.Interface(  # the password is write-only
        id=state["id"],
        host=state["host"],
        port=state["port"],
        system_id=state["system_id"],
        system_type=state["system_type"],
        window_size=state["window_size"],
        throughput_per_second=state["throughput_per_second"],
        enabled=state["enabled"],
    )


def _operator_out(state: OperatorState) -> ss.Operator:
    return ss.Operator(**state)


def _policy_out(state: VerificationPolicyState) -> ss.VerificationPolicy:
    return ss.VerificationPolicy(**state)


def _keep_password(state: InterfaceState, before: InterfaceState | None) -> InterfaceState:
    """Write-only: an empty password keeps the stored one."""
    if state["password"] or before is None:
        return state
    return {**state, "password": before["password"]}


def _partner(s: BlacklistState) -> str:
    return s["partner"]


_SECRETS = (
    "password_hash",
    "password",
    "smpp_password_hash",
    "key_sha256",
    "token",
    "webhook_secret",
    "webhook_verify",
)


def _redacted(changes: list[ChangeRecord]) -> str:
    def side(state: Mapping[str, object] | None) -> Mapping[str, object] | None:
        if state is None:
            return None
        return {k: "<redacted>" if k in _SECRETS else v for k, v in state.items()}

    out = [{**c, "before": side(c["before"]), "after": side(c["after"])} for c in changes]
    return json.dumps(out, ensure_ascii=False)


class EntitySettings(SettingsBase):
    """Partners, black lists, operators, interfaces, the verification policy, revisions and
    rollback."""

    async def CreatePartner(
        self, request: ss.CreatePartnerRequest, context: Ctx
    ) -> ss.CreatePartnerResponse:
        p = request.partner
        p.default_ttl_seconds = p.default_ttl_seconds or 86400
        p.duplicate_window_seconds = p.duplicate_window_seconds or 86400
        p.service_type = p.service_type or "SMS"
        validate.check_partner(p)
        if not request.password:
            raise RcsError(Reason.INVALID_REQUEST, "a partner needs a password", field="password")
        if request.smpp_password:
            validate.check_smpp_password(request.smpp_password)

        async def work(conn: Conn) -> ss.CreatePartnerResponse:
            if await entities.partner_state(conn, p.login) is not None:
                raise RcsError(Reason.INVALID_REQUEST, f"partner {p.login!r} exists: update it")
            state = PartnerState(
                login=p.login,
                password_hash=await asyncio.to_thread(hash_password, request.password),
                default_sender=p.default_sender,
                default_ttl_seconds=p.default_ttl_seconds,
                block_duplicates=p.block_duplicates,
                duplicate_window_seconds=p.duplicate_window_seconds,
                allowed_subnets=validate.subnets(p.allowed_subnets),
                report_url=p.report_url,
                inbound_url=p.inbound_url,
                max_smpp_sessions=p.max_smpp_sessions,
                senders=validate.senders(p.senders),
                smpp_password_hash=(
                    await asyncio.to_thread(hash_password, request.smpp_password)
                    if request.smpp_password
                    else None
                ),
                smpp_standard_tlvs_only=p.smpp_standard_tlvs_only,
                service_type=p.service_type,
            )
            await entities.put_partner(conn, p.login, state)
            revision = await commit(
                conn,
                request.actor,
                summary=f"create partner {p.login}",
                changes=[Change("partner", p.login, None, state)],
            )
            return ss.CreatePartnerResponse(partner=_partner_out(state), revision=revision)

        return await writes.mutate(self._pool, request, ss.CreatePartnerResponse, work)

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
            validate.check_smpp_password(request.smpp_password)

        async def work(conn: Conn) -> ss.UpdatePartnerResponse:
            before = await entities.partner_state(conn, request.partner.login)
            if before is None:
                raise RcsError(Reason.NOT_FOUND, f"no partner {request.partner.login!r}")
            # The mask names fields of both (_PARTNER_MASK), so the copy stays a PartnerState.
            plain = paths - {"password", "allowed_subnets", "senders", "smpp_password"}
            after = cast(
                "PartnerState",
                {**before, **{path: getattr(request.partner, path) for path in plain}},
            )
            if "allowed_subnets" in paths:
                after["allowed_subnets"] = validate.subnets(request.partner.allowed_subnets)
            if "senders" in paths:
                after["senders"] = validate.senders(request.partner.senders)
            if "smpp_password" in paths:
                after["smpp_password_hash"] = (
                    await asyncio.to_thread(hash_password, request.smpp_password)
                    if request.smpp_password
                    else None
                )
            if "password" in paths:
                after["password_hash"] = await asyncio.to_thread(hash_password, request.password)
            entities.PARTNER.validate(after)
            await entities.put_partner(conn, after["login"], after)
            revision = await commit(
                conn,
                request.actor,
                summary=f"update partner {after['login']}: {', '.join(sorted(paths))}",
                changes=[Change("partner", after["login"], before, after)],
            )
            return ss.UpdatePartnerResponse(partner=_partner_out(after), revision=revision)

        return await writes.mutate(self._pool, request, ss.UpdatePartnerResponse, work)

    async def GetPartner(
        self, request: ss.GetPartnerRequest, context: Ctx
    ) -> ss.GetPartnerResponse:
        async with self._pool.connection() as conn:
            state = await entities.partner_state(conn, request.login)
        if state is None:
            raise RcsError(Reason.NOT_FOUND, f"no partner {request.login!r}")
        return ss.GetPartnerResponse(partner=_partner_out(state))

    async def ListPartners(
        self, request: ss.ListPartnersRequest, context: Ctx
    ) -> ss.ListPartnersResponse:
        states, next_token = await writes.list_page(
            self._pool, entities.PARTNER, request.page_token, request.page_size
        )
        return ss.ListPartnersResponse(
            partners=[_partner_out(s) for s in states], next_page_token=next_token
        )

    async def _blacklist_change(
        self,
        request: ss.AddBlacklistEntriesRequest | ss.RemoveBlacklistEntriesRequest,
        response_type: type[R],
        add: bool,
    ) -> R:
        return await writes.change_entries(
            self._pool,
            request,
            response_type,
            entities.BLACKLIST,
            request.entries,
            _partner,
            add=add,
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
        after, size = writes.page(request.page_token, request.page_size)
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT b.number, b.note, b.created_at, b.keep_in_mailings FROM blacklist b"
                " LEFT JOIN partners p ON p.id = b.partner_id"
                " WHERE coalesce(p.login, '') = %s AND b.number > %s"
                " ORDER BY b.number LIMIT %s",
                (request.partner, after, size + 1),
            )
            rows = await cur.fetchall()
        entries = []
        for number, note, created, keep in rows[:size]:
            ts = timestamp_pb2.Timestamp()
            ts.FromDatetime(created)
            entries.append(
                ss.BlacklistEntry(
                    partner=request.partner,
                    number=number,
                    note=note,
                    create_time=ts,
                    keep_in_mailings=keep,
                )
            )
        return ss.ListBlacklistEntriesResponse(
            entries=entries,
            next_page_token=writes.token(rows[size - 1][0]) if len(rows) > size else "",
        )

    async def PutOperator(
        self, request: ss.PutOperatorRequest, context: Ctx
    ) -> ss.PutOperatorResponse:
        o = request.operator
        after = entities.OPERATOR.validate(o)

        async def check(conn: Conn, before: OperatorState | None) -> None:
            for interface_id in o.interface_ids:
                await _require(conn, "interface", interface_id, "interface_ids")

        return await writes.put(
            self._pool,
            request,
            ss.PutOperatorResponse,
            entities.OPERATOR,
            after,
            lambda st, rev: ss.PutOperatorResponse(operator=_operator_out(st), revision=rev),
            check,
        )

    async def ListOperators(
        self, request: ss.ListOperatorsRequest, context: Ctx
    ) -> ss.ListOperatorsResponse:
        states = await writes.list_all(
            self._pool, entities.OPERATOR, "SELECT name FROM operators ORDER BY name"
        )
        return ss.ListOperatorsResponse(operators=[_operator_out(st) for st in states])

    async def PutInterface(
        self, request: ss.PutInterfaceRequest, context: Ctx
    ) -> ss.PutInterfaceResponse:
        i = request.interface
        after = entities.INTERFACE.validate(i)

        async def check(conn: Conn, before: InterfaceState | None) -> None:
            if before is None and not i.password:
                raise RcsError(Reason.INVALID_REQUEST, "a new interface needs its bind password")

        return await writes.put(
            self._pool,
            request,
            ss.PutInterfaceResponse,
            entities.INTERFACE,
            after,
            lambda st, rev: ss.PutInterfaceResponse(interface=_interface_out(st), revision=rev),
            check,
            _keep_password,
        )

    async def DeleteInterface(
        self, request: ss.DeleteInterfaceRequest, context: Ctx
    ) -> ss.DeleteInterfaceResponse:
        async def check(conn: Conn, before: InterfaceState | None) -> None:
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

        return await writes.delete(
            self._pool, request, ss.DeleteInterfaceResponse, entities.INTERFACE, request.id, check
        )

    async def ListInterfaces(
        self, request: ss.ListInterfacesRequest, context: Ctx
    ) -> ss.ListInterfacesResponse:
        states = await writes.list_all(
            self._pool, entities.INTERFACE, "SELECT id FROM interfaces ORDER BY id"
        )
        return ss.ListInterfacesResponse(interfaces=[_interface_out(st) for st in states])

    async def GetVerificationPolicy(
        self, request: ss.GetVerificationPolicyRequest, context: Ctx
    ) -> ss.GetVerificationPolicyResponse:
        async with self._pool.connection() as conn:
            state = await entities.policy_state(conn)
        assert state is not None  # the migration inserts the row
        return ss.GetVerificationPolicyResponse(policy=_policy_out(state))

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

        async def work(conn: Conn) -> ss.UpdateVerificationPolicyResponse:
            before = await entities.policy_state(conn)
            assert before is not None
            values = {path: getattr(request.policy, path) for path in paths}
            if "inactive_codes" in values:
                values["inactive_codes"] = list(values["inactive_codes"])
            # The mask names fields of both (checked above), so the copy stays typed.
            after = entities.VERIFICATION_POLICY.validate(
                cast("VerificationPolicyState", {**before, **values})
            )
            revision = 0
            if after != before:
                await entities.put_policy(conn, "installation", after)
                revision = await commit(
                    conn,
                    request.actor,
                    summary=f"update verification policy: {', '.join(sorted(paths))}",
                    changes=[Change("verification_policy", "installation", before, after)],
                )
            return ss.UpdateVerificationPolicyResponse(policy=_policy_out(after), revision=revision)

        return await writes.mutate(self._pool, request, ss.UpdateVerificationPolicyResponse, work)

    async def ListRevisions(
        self, request: ss.ListRevisionsRequest, context: Ctx
    ) -> ss.ListRevisionsResponse:
        after, size = writes.page(request.page_token, request.page_size)
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
            next_page_token=writes.token(str(rows[size - 1][0])) if len(rows) > size else "",
        )

    async def RollbackSettings(
        self, request: ss.RollbackSettingsRequest, context: Ctx
    ) -> ss.RollbackSettingsResponse:
        async def work(conn: Conn) -> ss.RollbackSettingsResponse:
            cur = await conn.execute("SELECT revision FROM settings_revision")
            row = await cur.fetchone()
            current = int(row[0]) if row else 0
            if not 1 <= request.revision <= current:
                raise RcsError(
                    Reason.NOT_FOUND,
                    f"no settings revision {request.revision}: revisions run 1 to {current}",
                )
            changes = await store.restore(conn, request.revision)
            revision = await commit(
                conn,
                request.actor,
                summary=f"rollback to revision {request.revision}",
                changes=changes,
            )
            return ss.RollbackSettingsResponse(revision=revision, changed_count=len(changes))

        return await writes.mutate(self._pool, request, ss.RollbackSettingsResponse, work)


def rpc_names(group: type[SettingsBase]) -> set[str]:
    """The RPCs a group defines: its public methods named like RPCs (CamelCase)."""
    return {n for n in vars(group) if n[:1].isupper() and callable(getattr(group, n))}


class SettingsServicer(settings_service_pb2_grpc.SettingsServiceServicer):
    """The one registered SettingsService servicer: it holds the groups of RPCs, all over
    one pool, and delegates each RPC to the group that defines it (spelled out, so that
    mypy checks every signature and that no RPC is left to the generated UNIMPLEMENTED;
    tests/unit/core/test_settings_groups.py checks that each RPC is in exactly one group)."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._entities = EntitySettings(pool)
        self._policy = PolicySettings(pool)
        self._inbound = InboundRouteSettings(pool)
        self._api_keys = ApiKeySettings(pool)
        self._audit = AuditSettings(pool)
        self._imports = ImportSettings(pool)
        self._partner_channels = PartnerChannelSettings(pool)
        self._messenger_interfaces = MessengerInterfaceSettings(pool)
        self._administrators = AdministratorSettings(pool)

    # -- EntitySettings ------------------------------------------------------
    async def AddBlacklistEntries(
        self, request: ss.AddBlacklistEntriesRequest, context: Ctx
    ) -> ss.AddBlacklistEntriesResponse:
        return await self._entities.AddBlacklistEntries(request, context)

    async def CreatePartner(
        self, request: ss.CreatePartnerRequest, context: Ctx
    ) -> ss.CreatePartnerResponse:
        return await self._entities.CreatePartner(request, context)

    async def DeleteInterface(
        self, request: ss.DeleteInterfaceRequest, context: Ctx
    ) -> ss.DeleteInterfaceResponse:
        return await self._entities.DeleteInterface(request, context)

    async def GetPartner(
        self, request: ss.GetPartnerRequest, context: Ctx
    ) -> ss.GetPartnerResponse:
        return await self._entities.GetPartner(request, context)

    async def GetVerificationPolicy(
        self, request: ss.GetVerificationPolicyRequest, context: Ctx
    ) -> ss.GetVerificationPolicyResponse:
        return await self._entities.GetVerificationPolicy(request, context)

    async def ListBlacklistEntries(
        self, request: ss.ListBlacklistEntriesRequest, context: Ctx
    ) -> ss.ListBlacklistEntriesResponse:
        return await self._entities.ListBlacklistEntries(request, context)

    async def ListInterfaces(
        self, request: ss.ListInterfacesRequest, context: Ctx
    ) -> ss.ListInterfacesResponse:
        return await self._entities.ListInterfaces(request, context)

    async def ListOperators(
        self, request: ss.ListOperatorsRequest, context: Ctx
    ) -> ss.ListOperatorsResponse:
        return await self._entities.ListOperators(request, context)

    async def ListPartners(
        self, request: ss.ListPartnersRequest, context: Ctx
    ) -> ss.ListPartnersResponse:
        return await self._entities.ListPartners(request, context)

    async def ListRevisions(
        self, request: ss.ListRevisionsRequest, context: Ctx
    ) -> ss.ListRevisionsResponse:
        return await self._entities.ListRevisions(request, context)

    async def PutInterface(
        self, request: ss.PutInterfaceRequest, context: Ctx
    ) -> ss.PutInterfaceResponse:
        return await self._entities.PutInterface(request, context)

    async def PutOperator(
        self, request: ss.PutOperatorRequest, context: Ctx
    ) -> ss.PutOperatorResponse:
        return await self._entities.PutOperator(request, context)

    async def RemoveBlacklistEntries(
        self, request: ss.RemoveBlacklistEntriesRequest, context: Ctx
    ) -> ss.RemoveBlacklistEntriesResponse:
        return await self._entities.RemoveBlacklistEntries(request, context)

    async def RollbackSettings(
        self, request: ss.RollbackSettingsRequest, context: Ctx
    ) -> ss.RollbackSettingsResponse:
        return await self._entities.RollbackSettings(request, context)

    async def UpdatePartner(
        self, request: ss.UpdatePartnerRequest, context: Ctx
    ) -> ss.UpdatePartnerResponse:
        return await self._entities.UpdatePartner(request, context)

    async def UpdateVerificationPolicy(
        self, request: ss.UpdateVerificationPolicyRequest, context: Ctx
    ) -> ss.UpdateVerificationPolicyResponse:
        return await self._entities.UpdateVerificationPolicy(request, context)

    # -- PolicySettings ------------------------------------------------------
    async def AddWhitelistEntries(
        self, request: ss.AddWhitelistEntriesRequest, context: Ctx
    ) -> ss.AddWhitelistEntriesResponse:
        return await self._policy.AddWhitelistEntries(request, context)

    async def DeleteDirection(
        self, request: ss.DeleteDirectionRequest, context: Ctx
    ) -> ss.DeleteDirectionResponse:
        return await self._policy.DeleteDirection(request, context)

    async def DeleteRoutingRule(
        self, request: ss.DeleteRoutingRuleRequest, context: Ctx
    ) -> ss.DeleteRoutingRuleResponse:
        return await self._policy.DeleteRoutingRule(request, context)

    async def DeleteSenderName(
        self, request: ss.DeleteSenderNameRequest, context: Ctx
    ) -> ss.DeleteSenderNameResponse:
        return await self._policy.DeleteSenderName(request, context)

    async def DeleteSubstitutionRule(
        self, request: ss.DeleteSubstitutionRuleRequest, context: Ctx
    ) -> ss.DeleteSubstitutionRuleResponse:
        return await self._policy.DeleteSubstitutionRule(request, context)

    async def DeleteTariff(
        self, request: ss.DeleteTariffRequest, context: Ctx
    ) -> ss.DeleteTariffResponse:
        return await self._policy.DeleteTariff(request, context)

    async def DeleteTrafficPolicy(
        self, request: ss.DeleteTrafficPolicyRequest, context: Ctx
    ) -> ss.DeleteTrafficPolicyResponse:
        return await self._policy.DeleteTrafficPolicy(request, context)

    async def ListDirections(
        self, request: ss.ListDirectionsRequest, context: Ctx
    ) -> ss.ListDirectionsResponse:
        return await self._policy.ListDirections(request, context)

    async def ListRegionTimeZones(
        self, request: ss.ListRegionTimeZonesRequest, context: Ctx
    ) -> ss.ListRegionTimeZonesResponse:
        return await self._policy.ListRegionTimeZones(request, context)

    async def ListRoutingRules(
        self, request: ss.ListRoutingRulesRequest, context: Ctx
    ) -> ss.ListRoutingRulesResponse:
        return await self._policy.ListRoutingRules(request, context)

    async def ListSenderNames(
        self, request: ss.ListSenderNamesRequest, context: Ctx
    ) -> ss.ListSenderNamesResponse:
        return await self._policy.ListSenderNames(request, context)

    async def ListSubstitutionRules(
        self, request: ss.ListSubstitutionRulesRequest, context: Ctx
    ) -> ss.ListSubstitutionRulesResponse:
        return await self._policy.ListSubstitutionRules(request, context)

    async def ListTariffs(
        self, request: ss.ListTariffsRequest, context: Ctx
    ) -> ss.ListTariffsResponse:
        return await self._policy.ListTariffs(request, context)

    async def ListTrafficPolicies(
        self, request: ss.ListTrafficPoliciesRequest, context: Ctx
    ) -> ss.ListTrafficPoliciesResponse:
        return await self._policy.ListTrafficPolicies(request, context)

    async def ListWhitelistEntries(
        self, request: ss.ListWhitelistEntriesRequest, context: Ctx
    ) -> ss.ListWhitelistEntriesResponse:
        return await self._policy.ListWhitelistEntries(request, context)

    async def PutDirection(
        self, request: ss.PutDirectionRequest, context: Ctx
    ) -> ss.PutDirectionResponse:
        return await self._policy.PutDirection(request, context)

    async def PutRegionTimeZone(
        self, request: ss.PutRegionTimeZoneRequest, context: Ctx
    ) -> ss.PutRegionTimeZoneResponse:
        return await self._policy.PutRegionTimeZone(request, context)

    async def PutRoutingRule(
        self, request: ss.PutRoutingRuleRequest, context: Ctx
    ) -> ss.PutRoutingRuleResponse:
        return await self._policy.PutRoutingRule(request, context)

    async def PutSenderName(
        self, request: ss.PutSenderNameRequest, context: Ctx
    ) -> ss.PutSenderNameResponse:
        return await self._policy.PutSenderName(request, context)

    async def PutSubstitutionRule(
        self, request: ss.PutSubstitutionRuleRequest, context: Ctx
    ) -> ss.PutSubstitutionRuleResponse:
        return await self._policy.PutSubstitutionRule(request, context)

    async def PutTariff(self, request: ss.PutTariffRequest, context: Ctx) -> ss.PutTariffResponse:
        return await self._policy.PutTariff(request, context)

    async def PutTrafficPolicy(
        self, request: ss.PutTrafficPolicyRequest, context: Ctx
    ) -> ss.PutTrafficPolicyResponse:
        return await self._policy.PutTrafficPolicy(request, context)

    async def RemoveWhitelistEntries(
        self, request: ss.RemoveWhitelistEntriesRequest, context: Ctx
    ) -> ss.RemoveWhitelistEntriesResponse:
        return await self._policy.RemoveWhitelistEntries(request, context)

    # -- InboundRouteSettings ------------------------------------------------
    async def DeleteInboundRoute(
        self, request: ss.DeleteInboundRouteRequest, context: Ctx
    ) -> ss.DeleteInboundRouteResponse:
        return await self._inbound.DeleteInboundRoute(request, context)

    async def ListInboundRoutes(
        self, request: ss.ListInboundRoutesRequest, context: Ctx
    ) -> ss.ListInboundRoutesResponse:
        return await self._inbound.ListInboundRoutes(request, context)

    async def PutInboundRoute(
        self, request: ss.PutInboundRouteRequest, context: Ctx
    ) -> ss.PutInboundRouteResponse:
        return await self._inbound.PutInboundRoute(request, context)

    # -- ApiKeySettings ------------------------------------------------------
    async def CreateApiKey(
        self, request: ss.CreateApiKeyRequest, context: Ctx
    ) -> ss.CreateApiKeyResponse:
        return await self._api_keys.CreateApiKey(request, context)

    async def ListApiKeys(
        self, request: ss.ListApiKeysRequest, context: Ctx
    ) -> ss.ListApiKeysResponse:
        return await self._api_keys.ListApiKeys(request, context)

    async def RevokeApiKey(
        self, request: ss.RevokeApiKeyRequest, context: Ctx
    ) -> ss.RevokeApiKeyResponse:
        return await self._api_keys.RevokeApiKey(request, context)

    # -- AuditSettings -------------------------------------------------------
    async def ListAuditEntries(
        self, request: ss.ListAuditEntriesRequest, context: Ctx
    ) -> ss.ListAuditEntriesResponse:
        return await self._audit.ListAuditEntries(request, context)

    # -- ImportSettings ------------------------------------------------------
    async def ImportNumberPlan(
        self, request_iterator: AsyncIterator[ss.ImportNumberPlanRequest], context: Ctx
    ) -> ss.ImportNumberPlanResponse:
        return await self._imports.ImportNumberPlan(request_iterator, context)

    # -- PartnerChannelSettings ----------------------------------------------
    async def DeletePartnerChannel(
        self, request: ss.DeletePartnerChannelRequest, context: Ctx
    ) -> ss.DeletePartnerChannelResponse:
        return await self._partner_channels.DeletePartnerChannel(request, context)

    async def ListPartnerChannels(
        self, request: ss.ListPartnerChannelsRequest, context: Ctx
    ) -> ss.ListPartnerChannelsResponse:
        return await self._partner_channels.ListPartnerChannels(request, context)

    async def PutPartnerChannel(
        self, request: ss.PutPartnerChannelRequest, context: Ctx
    ) -> ss.PutPartnerChannelResponse:
        return await self._partner_channels.PutPartnerChannel(request, context)

    # -- MessengerInterfaceSettings ------------------------------------------
    async def DeleteMessengerInterface(
        self, request: ss.DeleteMessengerInterfaceRequest, context: Ctx
    ) -> ss.DeleteMessengerInterfaceResponse:
        return await self._messenger_interfaces.DeleteMessengerInterface(request, context)

    async def ListMessengerInterfaces(
        self, request: ss.ListMessengerInterfacesRequest, context: Ctx
    ) -> ss.ListMessengerInterfacesResponse:
        return await self._messenger_interfaces.ListMessengerInterfaces(request, context)

    async def PutMessengerInterface(
        self, request: ss.PutMessengerInterfaceRequest, context: Ctx
    ) -> ss.PutMessengerInterfaceResponse:
        return await self._messenger_interfaces.PutMessengerInterface(request, context)

    # -- AdministratorSettings -----------------------------------------------
    async def CreateFirstAdministrator(
        self, request: ss.CreateFirstAdministratorRequest, context: Ctx
    ) -> ss.CreateFirstAdministratorResponse:
        return await self._administrators.CreateFirstAdministrator(request, context)

    async def PutAdministrator(
        self, request: ss.PutAdministratorRequest, context: Ctx
    ) -> ss.PutAdministratorResponse:
        return await self._administrators.PutAdministrator(request, context)
