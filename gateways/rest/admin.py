"""Admin JSON API (`/api/admin/v1/…`): a thin face on SettingsService.

HTTP Basic auth with an administrator's login (AuthService.AuthenticateAdmin, cached);
the administrator and their address become the revision's and the audit log's actor.
Bodies and answers are the SettingsService messages in protobuf's JSON mapping
(camelCase). ``Idempotency-Key`` becomes the mutation's request_id. Errors use the same
catalogue and body as the partner API.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from aiohttp import hdrs, web
from google.protobuf import field_mask_pb2, json_format
from google.protobuf.message import Message

from gateways.partner_auth import PartnerAuth
from gateways.rest.body import loads_json, read_body
from gateways.rest.errors import json_response
from gateways.rest.observability import PARTNER
from gateways.rest.parsing import MAX_BODY_BYTES, parse_basic_auth
from gateways.rpc_errors import rcs_error
from rcs.core.v1 import (
    auth_service_pb2_grpc,
    mailing_service_pb2_grpc,
    settings_service_pb2,
    settings_service_pb2_grpc,
)
from rcs.routing.v1 import routing_service_pb2, routing_service_pb2_grpc
from rcs_runtime.errors import RcsError, Reason

ss = settings_service_pb2
M = TypeVar("M", bound=Message)
PREFIX = "/api/admin/v1"


class Admin:
    def __init__(
        self,
        channel: grpc.aio.Channel,
        *,
        cache_seconds: float,
        timeout: float,
        routing: grpc.aio.Channel | None = None,
    ) -> None:
        """``channel`` leads to core; ``routing`` to the routing service (route explain)."""
        self.settings = settings_service_pb2_grpc.SettingsServiceStub(channel)
        self.mailings = mailing_service_pb2_grpc.MailingServiceStub(channel)
        self.routing = routing_service_pb2_grpc.RoutingServiceStub(routing) if routing else None
        self.auth = PartnerAuth(
            auth_service_pb2_grpc.AuthServiceStub(channel),
            cache_seconds=cache_seconds,
            timeout_seconds=timeout,
            admins=True,
        )
        self.timeout = timeout


ADMIN = web.AppKey("admin", Admin)


async def _actor(request: web.Request) -> settings_service_pb2.Actor:
    login, password = parse_basic_auth(request.headers.get(hdrs.AUTHORIZATION))
    request[PARTNER] = f"admin:{login}"
    remote = request.remote or ""
    await request.app[ADMIN].auth.authenticate(login, password, remote)
    return ss.Actor(login=login, remote_ip=remote)


async def _doc(request: web.Request) -> Any:
    """The body's JSON (``{}`` when empty): whole, at most MAX_BODY_BYTES, nested no deeper
    than loads_json allows."""
    try:
        return loads_json(await read_body(request, MAX_BODY_BYTES) or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise RcsError(Reason.INVALID_REQUEST, f"the body is not JSON: {exc}") from exc


async def _body(request: web.Request, message: M) -> M:
    doc = await _doc(request)
    try:
        json_format.ParseDict(doc, message)
    except (ValueError, json_format.ParseError) as exc:
        raise RcsError(Reason.INVALID_REQUEST, f"the body does not fit the API: {exc}") from exc
    return message


INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


def _number(raw: str, what: str, maximum: int, reason: Reason = Reason.INVALID_REQUEST) -> int:
    """A path or query number: ASCII digits only (``int`` also takes "1_0", " 1", "١"),
    within the field's range (protobuf refuses more with an error that was a 500)."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 20 or int(raw) > maximum:
        raise RcsError(reason, f"{what} is a whole number from 0 to {maximum}, not {raw[:40]!r}")
    return int(raw)


def _answer(message: Message, status: int = 200) -> web.Response:
    return json_response(
        json_format.MessageToDict(message, always_print_fields_with_no_presence=True),
        status=status,
    )


async def _call(request: web.Request, method: str, message: Message) -> Message:
    admin = request.app[ADMIN]
    try:
        result: Message = await getattr(admin.settings, method)(message, timeout=admin.timeout)
    except grpc.aio.AioRpcError as err:
        raise rcs_error(err) from err
    return result


def _page(request: web.Request) -> dict[str, Any]:
    size = _number(request.query.get("pageSize", "0"), "pageSize", INT32_MAX)
    return {"page_size": size, "page_token": request.query.get("pageToken", "")}


def _request_id(request: web.Request) -> str:
    return request.headers.get("Idempotency-Key", "")


async def list_partners(request: web.Request) -> web.StreamResponse:
    await _actor(request)
    return _answer(await _call(request, "ListPartners", ss.ListPartnersRequest(**_page(request))))


async def create_partner(request: web.Request) -> web.StreamResponse:
    actor = await _actor(request)
    body = await _body(request, ss.CreatePartnerRequest())
    body.actor.CopyFrom(actor)
    body.request_id = _request_id(request)
    return _answer(await _call(request, "CreatePartner", body), status=201)


async def get_partner(request: web.Request) -> web.StreamResponse:
    await _actor(request)
    login = request.match_info["login"]
    return _answer(await _call(request, "GetPartner", ss.GetPartnerRequest(login=login)))


async def update_partner(request: web.Request) -> web.StreamResponse:
    """PATCH: the fields present in the body are the ones changed (plus ``password`` and
    ``smppPassword``, "" to remove the SMPP password)."""
    actor = await _actor(request)
    doc = await _doc(request)
    if not isinstance(doc, dict) or not doc:
        raise RcsError(Reason.INVALID_REQUEST, "send the fields to change as a JSON object")
    password = doc.pop("password", None)
    smpp_password = doc.pop("smppPassword", None)
    partner = ss.Partner(login=request.match_info["login"])
    try:
        json_format.ParseDict({**doc, "login": partner.login}, partner)
    except (ValueError, json_format.ParseError) as exc:
        raise RcsError(Reason.INVALID_REQUEST, f"the body does not fit the API: {exc}") from exc
    mask = field_mask_pb2.FieldMask()
    mask.FromJsonString(",".join(doc))  # camelCase names → snake_case paths
    if password is not None:
        mask.paths.append("password")
    if smpp_password is not None:
        mask.paths.append("smpp_password")
    update = ss.UpdatePartnerRequest(
        request_id=_request_id(request),
        actor=actor,
        partner=partner,
        update_mask=mask,
        password=str(password or ""),
        smpp_password=str(smpp_password or ""),
    )
    return _answer(await _call(request, "UpdatePartner", update))


async def list_blacklist(request: web.Request) -> web.StreamResponse:
    await _actor(request)
    query = ss.ListBlacklistEntriesRequest(
        partner=request.query.get("partner", ""), **_page(request)
    )
    return _answer(await _call(request, "ListBlacklistEntries", query))


async def add_blacklist(request: web.Request) -> web.StreamResponse:
    actor = await _actor(request)
    body = await _body(request, ss.AddBlacklistEntriesRequest())
    body.actor.CopyFrom(actor)
    body.request_id = _request_id(request)
    return _answer(await _call(request, "AddBlacklistEntries", body))


async def remove_blacklist(request: web.Request) -> web.StreamResponse:
    actor = await _actor(request)
    body = await _body(request, ss.RemoveBlacklistEntriesRequest())
    body.actor.CopyFrom(actor)
    body.request_id = _request_id(request)
    return _answer(await _call(request, "RemoveBlacklistEntries", body))


async def list_operators(request: web.Request) -> web.StreamResponse:
    await _actor(request)
    return _answer(await _call(request, "ListOperators", ss.ListOperatorsRequest()))


async def put_operator(request: web.Request) -> web.StreamResponse:
    actor = await _actor(request)
    operator = await _body(request, ss.Operator())
    operator.name = request.match_info["name"]
    body = ss.PutOperatorRequest(request_id=_request_id(request), actor=actor, operator=operator)
    return _answer(await _call(request, "PutOperator", body))


async def list_interfaces(request: web.Request) -> web.StreamResponse:
    await _actor(request)
    return _answer(await _call(request, "ListInterfaces", ss.ListInterfacesRequest()))


async def put_interface(request: web.Request) -> web.StreamResponse:
    actor = await _actor(request)
    interface = await _body(request, ss.Interface())
    interface.id = request.match_info["id"]
    body = ss.PutInterfaceRequest(request_id=_request_id(request), actor=actor, interface=interface)
    return _answer(await _call(request, "PutInterface", body))


async def delete_interface(request: web.Request) -> web.StreamResponse:
    actor = await _actor(request)
    body = ss.DeleteInterfaceRequest(
        request_id=_request_id(request), actor=actor, id=request.match_info["id"]
    )
    return _answer(await _call(request, "DeleteInterface", body))


async def get_policy(request: web.Request) -> web.StreamResponse:
    await _actor(request)
    return _answer(await _call(request, "GetVerificationPolicy", ss.GetVerificationPolicyRequest()))


async def update_policy(request: web.Request) -> web.StreamResponse:
    """PATCH: the fields present in the body are the ones changed."""
    actor = await _actor(request)
    doc = await _doc(request)
    try:
        policy = json_format.ParseDict(doc, ss.VerificationPolicy())
    except (ValueError, json_format.ParseError) as exc:
        raise RcsError(Reason.INVALID_REQUEST, f"the body does not fit the API: {exc}") from exc
    if not isinstance(doc, dict) or not doc:
        raise RcsError(Reason.INVALID_REQUEST, "send the fields to change as a JSON object")
    mask = field_mask_pb2.FieldMask()
    mask.FromJsonString(",".join(doc))
    body = ss.UpdateVerificationPolicyRequest(
        request_id=_request_id(request), actor=actor, policy=policy, update_mask=mask
    )
    return _answer(await _call(request, "UpdateVerificationPolicy", body))


async def list_revisions(request: web.Request) -> web.StreamResponse:
    await _actor(request)
    return _answer(await _call(request, "ListRevisions", ss.ListRevisionsRequest(**_page(request))))


async def list_audit(request: web.Request) -> web.StreamResponse:
    """GET …/audit?actor=&entity=&since=&until= (RFC 3339 times), newest first."""
    await _actor(request)
    query = ss.ListAuditEntriesRequest(
        actor=request.query.get("actor", ""),
        entity=request.query.get("entity", ""),
        **_page(request),
    )
    for name in ("since", "until"):
        value = request.query.get(name)
        if value:
            try:
                getattr(query, name).FromJsonString(value)
            except ValueError as exc:
                raise RcsError(
                    Reason.INVALID_REQUEST,
                    f"{name} must be an RFC 3339 time, e.g. 2026-12-01T00:00:00Z",
                    field=name,
                ) from exc
    return _answer(await _call(request, "ListAuditEntries", query))


async def rollback(request: web.Request) -> web.StreamResponse:
    actor = await _actor(request)
    revision = _number(request.match_info["revision"], "the revision", INT64_MAX, Reason.NOT_FOUND)
    body = ss.RollbackSettingsRequest(
        request_id=_request_id(request), actor=actor, revision=revision
    )
    return _answer(await _call(request, "RollbackSettings", body))


# -- routing policy and inbound routes: the same three calls per entity, from _POLICY --------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class _Entity:
    path: str  # under PREFIX; …/{key} names one
    noun: str  # Put<noun>, Delete<noun>
    plural: str  # List<plural>
    field: str  # the entity's field in Put<noun>Request
    key: str  # the entity's key field, also in Delete<noun>Request
    numeric_key: bool = False
    paged: bool = True
    filters: tuple[str, ...] = ()  # List<plural>Request fields taken from the query


POLICY_ENTITIES = _POLICY = (
    _Entity("directions", "Direction", "Directions", "direction", "name", filters=("operator",)),
    _Entity("sender-names", "SenderName", "SenderNames", "sender_name", "name"),
    _Entity("routing-rules", "RoutingRule", "RoutingRules", "rule", "name"),
    _Entity("substitution-rules", "SubstitutionRule", "SubstitutionRules", "rule", "name"),
    _Entity("inbound-routes", "InboundRoute", "InboundRoutes", "route", "name"),
    _Entity(
        "traffic-policies",
        "TrafficPolicy",
        "TrafficPolicies",
        "policy",
        "traffic_type",
        numeric_key=True,
        paged=False,
    ),
)


def _key(request: web.Request, e: _Entity) -> str | int:
    raw = request.match_info["key"]
    if not e.numeric_key:
        return raw
    return _number(raw, f"the {e.key} in the path", INT32_MAX)


def _putter(e: _Entity) -> Handler:
    """PUT …/{key}: the body is the entity; the path names it."""

    async def put(request: web.Request) -> web.StreamResponse:
        actor = await _actor(request)
        body = getattr(ss, f"Put{e.noun}Request")(request_id=_request_id(request), actor=actor)
        setattr(await _body(request, getattr(body, e.field)), e.key, _key(request, e))
        return _answer(await _call(request, f"Put{e.noun}", body))

    return put


def _deleter(e: _Entity) -> Handler:
    async def delete(request: web.Request) -> web.StreamResponse:
        actor = await _actor(request)
        body = getattr(ss, f"Delete{e.noun}Request")(
            request_id=_request_id(request), actor=actor, **{e.key: _key(request, e)}
        )
        return _answer(await _call(request, f"Delete{e.noun}", body))

    return delete


def _lister(e: _Entity) -> Handler:
    async def list_(request: web.Request) -> web.StreamResponse:
        await _actor(request)
        query = getattr(ss, f"List{e.plural}Request")(
            **(_page(request) if e.paged else {}),
            **{f: request.query.get(f, "") for f in e.filters},
        )
        return _answer(await _call(request, f"List{e.plural}", query))

    return list_


async def list_tariffs(request: web.Request) -> web.StreamResponse:
    await _actor(request)
    return _answer(await _call(request, "ListTariffs", ss.ListTariffsRequest()))


async def put_tariff(request: web.Request) -> web.StreamResponse:
    actor = await _actor(request)
    tariff = await _body(request, ss.Tariff())
    body = ss.PutTariffRequest(request_id=_request_id(request), actor=actor, tariff=tariff)
    return _answer(await _call(request, "PutTariff", body))


async def delete_tariff(request: web.Request) -> web.StreamResponse:
    actor = await _actor(request)
    tariff = await _body(request, ss.Tariff())
    body = ss.DeleteTariffRequest(request_id=_request_id(request), actor=actor, tariff=tariff)
    return _answer(await _call(request, "DeleteTariff", body))


async def list_partner_channels(request: web.Request) -> web.StreamResponse:
    await _actor(request)
    query = ss.ListPartnerChannelsRequest(partner=request.query.get("partner", ""))
    return _answer(await _call(request, "ListPartnerChannels", query))


async def put_partner_channel(request: web.Request) -> web.StreamResponse:
    actor = await _actor(request)
    pc = await _body(request, ss.PartnerChannel())
    body = ss.PutPartnerChannelRequest(
        request_id=_request_id(request), actor=actor, partner_channel=pc
    )
    return _answer(await _call(request, "PutPartnerChannel", body))


async def delete_partner_channel(request: web.Request) -> web.StreamResponse:
    actor = await _actor(request)
    body = await _body(request, ss.DeletePartnerChannelRequest())
    body.actor.CopyFrom(actor)
    body.request_id = _request_id(request)
    return _answer(await _call(request, "DeletePartnerChannel", body))


async def list_messenger_interfaces(request: web.Request) -> web.StreamResponse:
    await _actor(request)
    return _answer(
        await _call(request, "ListMessengerInterfaces", ss.ListMessengerInterfacesRequest())
    )


async def put_messenger_interface(request: web.Request) -> web.StreamResponse:
    actor = await _actor(request)
    mi = await _body(request, ss.MessengerInterface())
    mi.id = request.match_info["id"]
    body = ss.PutMessengerInterfaceRequest(
        request_id=_request_id(request), actor=actor, messenger_interface=mi
    )
    return _answer(await _call(request, "PutMessengerInterface", body))


async def delete_messenger_interface(request: web.Request) -> web.StreamResponse:
    actor = await _actor(request)
    body = ss.DeleteMessengerInterfaceRequest(
        request_id=_request_id(request), actor=actor, id=request.match_info["id"]
    )
    return _answer(await _call(request, "DeleteMessengerInterface", body))


async def list_region_time_zones(request: web.Request) -> web.StreamResponse:
    await _actor(request)
    return _answer(await _call(request, "ListRegionTimeZones", ss.ListRegionTimeZonesRequest()))


async def put_region_time_zone(request: web.Request) -> web.StreamResponse:
    """PUT with the zone in the body: the default region is "", which no path can name."""
    actor = await _actor(request)
    zone = await _body(request, ss.RegionTimeZone())
    body = ss.PutRegionTimeZoneRequest(
        request_id=_request_id(request), actor=actor, region_time_zone=zone
    )
    return _answer(await _call(request, "PutRegionTimeZone", body))


async def list_whitelist(request: web.Request) -> web.StreamResponse:
    await _actor(request)
    query = ss.ListWhitelistEntriesRequest(
        partner=request.match_info["partner"],
        mailing=request.match_info["mailing"],
        **_page(request),
    )
    return _answer(await _call(request, "ListWhitelistEntries", query))


async def _whitelist_change(
    request: web.Request,
    method: str,
    body: ss.AddWhitelistEntriesRequest | ss.RemoveWhitelistEntriesRequest,
) -> web.StreamResponse:
    """The entries' partner and mailing are the path's."""
    actor = await _actor(request)
    body = await _body(request, body)
    for entry in body.entries:
        entry.partner = request.match_info["partner"]
        entry.mailing = request.match_info["mailing"]
    body.actor.CopyFrom(actor)
    body.request_id = _request_id(request)
    return _answer(await _call(request, method, body))


async def add_whitelist(request: web.Request) -> web.StreamResponse:
    return await _whitelist_change(request, "AddWhitelistEntries", ss.AddWhitelistEntriesRequest())


async def remove_whitelist(request: web.Request) -> web.StreamResponse:
    return await _whitelist_change(
        request, "RemoveWhitelistEntries", ss.RemoveWhitelistEntriesRequest()
    )


async def create_api_key(request: web.Request) -> web.StreamResponse:
    """POST …/partners/{login}/api-keys {"note"}: the new key, in clear, this once."""
    actor = await _actor(request)
    body = await _body(request, ss.CreateApiKeyRequest())
    body.actor.CopyFrom(actor)
    body.partner = request.match_info["login"]
    return _answer(await _call(request, "CreateApiKey", body), status=201)


async def list_api_keys(request: web.Request) -> web.StreamResponse:
    await _actor(request)
    query = ss.ListApiKeysRequest(partner=request.match_info["login"])
    return _answer(await _call(request, "ListApiKeys", query))


async def revoke_api_key(request: web.Request) -> web.StreamResponse:
    actor = await _actor(request)
    key_id = _number(request.match_info["id"], "the key id in the path", INT64_MAX)
    body = ss.RevokeApiKeyRequest(actor=actor, partner=request.match_info["login"], id=key_id)
    return _answer(await _call(request, "RevokeApiKey", body))


async def explain_route(request: web.Request) -> web.StreamResponse:
    """POST …/route:explain with a RouteQuery (destination, sender, partner, channel,
    trafficType, at): the routing service's whole decision, as `rcs route explain`."""
    await _actor(request)
    admin = request.app[ADMIN]
    if admin.routing is None:
        raise RcsError(Reason.SERVICE_UNAVAILABLE, "this gateway has no routing target configured")
    query = await _body(request, routing_service_pb2.RouteQuery())
    try:
        answer = await admin.routing.ExplainRoute(
            routing_service_pb2.ExplainRouteRequest(query=query), timeout=admin.timeout
        )
    except grpc.aio.AioRpcError as err:
        raise rcs_error(err) from err
    return _answer(answer)


def add_admin_routes(app: web.Application, admin: Admin) -> None:
    app[ADMIN] = admin
    r = app.router
    r.add_get(f"{PREFIX}/partners", list_partners, name="admin_partners")
    r.add_post(f"{PREFIX}/partners", create_partner, name="admin_create_partner")
    r.add_get(f"{PREFIX}/partners/{{login}}", get_partner, name="admin_partner")
    r.add_patch(f"{PREFIX}/partners/{{login}}", update_partner, name="admin_update_partner")
    r.add_get(f"{PREFIX}/blacklist", list_blacklist, name="admin_blacklist")
    r.add_post(f"{PREFIX}/blacklist", add_blacklist, name="admin_blacklist_add")
    r.add_post(f"{PREFIX}/blacklist:remove", remove_blacklist, name="admin_blacklist_remove")
    r.add_get(f"{PREFIX}/operators", list_operators, name="admin_operators")
    r.add_put(f"{PREFIX}/operators/{{name}}", put_operator, name="admin_put_operator")
    r.add_get(f"{PREFIX}/interfaces", list_interfaces, name="admin_interfaces")
    r.add_put(f"{PREFIX}/interfaces/{{id}}", put_interface, name="admin_put_interface")
    r.add_delete(f"{PREFIX}/interfaces/{{id}}", delete_interface, name="admin_delete_interface")
    r.add_get(f"{PREFIX}/verification-policy", get_policy, name="admin_policy")
    r.add_patch(f"{PREFIX}/verification-policy", update_policy, name="admin_update_policy")
    r.add_get(f"{PREFIX}/revisions", list_revisions, name="admin_revisions")
    r.add_get(f"{PREFIX}/audit", list_audit, name="admin_audit")
    r.add_post(f"{PREFIX}/revisions/{{revision}}:rollback", rollback, name="admin_rollback")
    for e in _POLICY:
        r.add_get(f"{PREFIX}/{e.path}", _lister(e), name=f"admin_{e.path}")
        r.add_put(f"{PREFIX}/{e.path}/{{key}}", _putter(e), name=f"admin_put_{e.path}")
        r.add_delete(f"{PREFIX}/{e.path}/{{key}}", _deleter(e), name=f"admin_delete_{e.path}")
    r.add_get(f"{PREFIX}/region-time-zones", list_region_time_zones, name="admin_zones")
    r.add_get(f"{PREFIX}/tariffs", list_tariffs, name="admin_tariffs")
    r.add_put(f"{PREFIX}/tariffs", put_tariff, name="admin_put_tariff")
    r.add_post(f"{PREFIX}/tariffs:delete", delete_tariff, name="admin_delete_tariff")
    channels = f"{PREFIX}/partner-channels"
    r.add_get(channels, list_partner_channels, name="admin_partner_channels")
    r.add_put(channels, put_partner_channel, name="admin_put_partner_channel")
    r.add_post(f"{channels}:delete", delete_partner_channel, name="admin_delete_partner_channel")
    providers = f"{PREFIX}/messenger-interfaces"
    r.add_get(providers, list_messenger_interfaces, name="admin_messenger_interfaces")
    r.add_put(f"{providers}/{{id}}", put_messenger_interface, name="admin_put_messenger_if")
    r.add_delete(
        f"{providers}/{{id}}", delete_messenger_interface, name="admin_delete_messenger_if"
    )
    r.add_put(f"{PREFIX}/region-time-zones", put_region_time_zone, name="admin_put_zone")
    # Mailings have no ':' (their pattern excludes it), so ":remove" never ends a mailing.
    whitelist = f"{PREFIX}/whitelists/{{partner}}/{{mailing:[^/:]+}}"
    r.add_get(whitelist, list_whitelist, name="admin_whitelist")
    r.add_post(whitelist, add_whitelist, name="admin_whitelist_add")
    r.add_post(f"{whitelist}:remove", remove_whitelist, name="admin_whitelist_remove")
    r.add_post(f"{PREFIX}/route:explain", explain_route, name="admin_route_explain")
    keys = f"{PREFIX}/partners/{{login}}/api-keys"
    r.add_get(keys, list_api_keys, name="admin_api_keys")
    r.add_post(keys, create_api_key, name="admin_create_api_key")
    r.add_post(f"{keys}/{{id}}:revoke", revoke_api_key, name="admin_revoke_api_key")
