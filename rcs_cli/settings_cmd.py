"""`rcs settings …`: the installation's settings from the command line.

`rcs settings <entity> list|get|put|delete` and the black/white list, revision and rollback
commands call core's SettingsService over gRPC (RCS_CORE_TARGET), so every change is a
revision with its audit entry, attributed to RCS_ACTOR or the OS user from "cli". Entities go
in and out as JSON in protobuf's mapping; a refusal prints its catalogue reason and message
and exits 1.

`rcs settings import-number-plan FILE` and `import-ported FILE` parse the file here and
stream its rows to core's SettingsService.ImportNumberPlan, applied as one revision: they
print a one-line summary, or every bad line and exit 2 having changed nothing."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import grpc
from google.protobuf import field_mask_pb2, json_format
from google.protobuf.message import Message

from rcs.core.v1 import settings_service_pb2 as ss
from rcs.core.v1 import settings_service_pb2_grpc
from rcs_runtime.errors import Reason
from rcs_runtime.grpc_client import error_reason, open_channel, refusal_text
from rcs_runtime.settings import RcsSettings

if TYPE_CHECKING:  # the async stub type exists only in the generated .pyi
    from rcs.core.v1.settings_service_pb2_grpc import SettingsServiceAsyncStub as Stub

EXIT_BAD_FILE = 2
T = TypeVar("T")
Work = Callable[["Stub", ss.Actor], Awaitable[Any]]


class SettingsCliSettings(RcsSettings):
    core_target: str = "127.0.0.1:50051"
    actor: str = ""  # RCS_ACTOR; the OS user when empty


@dataclass(frozen=True, slots=True)
class Entity:
    """How one kind of setting maps onto SettingsService."""

    message: str  # its message type, e.g. "RoutingRule"
    key: str  # its key field
    list_rpc: str
    items: str  # the repeated field of the List response
    put_field: str  # the entity's field in Put<message>Request
    paged: bool = True
    deletable: bool = True
    numeric_key: bool = False


ENTITIES = {
    "partners": Entity("Partner", "login", "ListPartners", "partners", "partner", deletable=False),
    "operators": Entity(
        "Operator", "name", "ListOperators", "operators", "operator", paged=False, deletable=False
    ),
    "interfaces": Entity(
        "Interface", "id", "ListInterfaces", "interfaces", "interface", paged=False
    ),
    "directions": Entity("Direction", "name", "ListDirections", "directions", "direction"),
    "sender-names": Entity("SenderName", "name", "ListSenderNames", "sender_names", "sender_name"),
    "routing-rules": Entity("RoutingRule", "name", "ListRoutingRules", "rules", "rule"),
    "substitution-rules": Entity(
        "SubstitutionRule", "name", "ListSubstitutionRules", "rules", "rule"
    ),
    "inbound-routes": Entity("InboundRoute", "name", "ListInboundRoutes", "routes", "route"),
    "traffic-policies": Entity(
        "TrafficPolicy",
        "traffic_type",
        "ListTrafficPolicies",
        "policies",
        "policy",
        paged=False,
        numeric_key=True,
    ),
    "region-time-zones": Entity(
        "RegionTimeZone",
        "region",
        "ListRegionTimeZones",
        "region_time_zones",
        "region_time_zone",
        paged=False,
        deletable=False,
    ),
}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    settings = sub.add_parser(
        "settings", help="settings over SettingsService (RCS_CORE_TARGET) and bulk imports"
    )
    verbs = settings.add_subparsers(dest="verb", required=True)
    plan = verbs.add_parser(
        "import-number-plan",
        help="replace the number plan with a numbering-registry file"
        " (';'-separated, UTF-8 or windows-1251); all or nothing (RCS_CORE_TARGET)",
    )
    plan.add_argument("file", type=Path)
    plan.set_defaults(func=lambda a: _run("number_plan", a.file))
    ported = verbs.add_parser(
        "import-ported",
        help="replace the ported numbers with a 'number;operator' file; all or nothing"
        " (RCS_CORE_TARGET)",
    )
    ported.add_argument("file", type=Path)
    ported.set_defaults(func=lambda a: _run("ported", a.file))
    for name, entity in ENTITIES.items():
        _add_entity(verbs, name, entity)
    _add_number_lists(verbs)
    _add_api_keys(verbs)
    _add_tariffs(verbs)
    _add_messenger_settings(verbs)
    revisions = verbs.add_parser("revisions", help="settings revisions, newest first")
    revisions.add_subparsers(dest="action", required=True).add_parser("list").add_argument(
        "--limit", type=int, default=20
    )
    revisions.set_defaults(func=lambda a: _call(_revisions(a.limit)))
    audit = verbs.add_parser("audit", help="the audit log, newest first")
    listing = audit.add_subparsers(dest="action", required=True).add_parser("list")
    listing.add_argument("--actor", default="", help="only this login's actions")
    listing.add_argument("--entity", default="", help='only targets containing it, "partner acme"')
    listing.add_argument("--since", default="", help="RFC 3339, e.g. 2026-12-01T00:00:00Z")
    listing.add_argument("--until", default="", help="RFC 3339; before this time")
    listing.add_argument("--limit", type=int, default=20)
    audit.set_defaults(func=lambda a: _call(_audit(a)))
    rollback = verbs.add_parser("rollback", help="restore the settings of a revision")
    rollback.add_argument("revision", type=int)
    rollback.set_defaults(func=lambda a: _call(_rollback(a.revision)))


def _add_entity(
    verbs: argparse._SubParsersAction[argparse.ArgumentParser], name: str, e: Entity
) -> None:
    verbs_help = "list, get, put (JSON)" + (", delete" if e.deletable else "")
    actions = verbs.add_parser(name, help=f"{name}: {verbs_help}").add_subparsers(
        dest="action", required=True
    )
    listing = actions.add_parser("list", help="every one, as a JSON array")
    if name == "directions":
        listing.add_argument("--operator", default="", help="only this operator's")
    listing.set_defaults(func=lambda a: _call(_list(e, getattr(a, "operator", ""))))
    key_type = int if e.numeric_key else str
    get = actions.add_parser("get", help=f"one, by {e.key}")
    get.add_argument("key", type=key_type)
    get.set_defaults(func=lambda a: _call(_get(e, a.key)))
    put = actions.add_parser("put", help=f"create or replace one: a {e.message} as JSON")
    source = put.add_mutually_exclusive_group(required=True)
    source.add_argument("--json", dest="text", help="the entity as JSON")
    source.add_argument("--file", type=Path, help="a file holding the entity as JSON")
    put.set_defaults(func=lambda a: _call(_put(e, _document(a.text, a.file))))
    if e.deletable:
        delete = actions.add_parser("delete", help=f"remove one, by {e.key}")
        delete.add_argument("key", type=key_type)
        delete.set_defaults(func=lambda a: _call(_delete(e, a.key)))


def _add_number_lists(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name, white in (("blacklist", False), ("whitelist", True)):
        what = "a mailing's white list" if white else "the global or a partner's black list"
        actions = verbs.add_parser(name, help=f"numbers on {what}").add_subparsers(
            dest="action", required=True
        )
        for action in ("list", "add", "remove"):
            p = actions.add_parser(action)
            p.add_argument("--partner", required=white, default="")
            if white:
                p.add_argument("--mailing", required=True)
            if action == "add":
                p.add_argument("--note", default="")
                if not white:
                    p.add_argument(
                        "--keep-in-mailings",
                        action="store_true",
                        help="a B file's N: mailings that exist already still send to the numbers",
                    )
            if action != "list":
                p.add_argument("numbers", nargs="+")
            p.set_defaults(func=lambda a, w=white: _call(_numbers(a, w)))


def _add_api_keys(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    actions = verbs.add_parser(
        "api-keys", help="a partner's API keys (REST_BATCH); a new key is shown once"
    ).add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="issue a key; prints it once")
    create.add_argument("--partner", required=True)
    create.add_argument("--note", default="")
    create.set_defaults(func=lambda a: _call(_api_keys("Create", a)))
    listing = actions.add_parser("list", help="the partner's keys, without secrets")
    listing.add_argument("--partner", required=True)
    listing.set_defaults(func=lambda a: _call(_api_keys("List", a)))
    revoke = actions.add_parser("revoke", help="revoke a key by id, at once")
    revoke.add_argument("--partner", required=True)
    revoke.add_argument("id", type=int)
    revoke.set_defaults(func=lambda a: _call(_api_keys("Revoke", a)))


def _add_tariffs(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Tariffs are keyed by five fields, so put and delete both take the Tariff as JSON."""
    actions = verbs.add_parser(
        "tariffs", help="prices per message for the DWH's financial report: list, put, delete"
    ).add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="every row, the history included").set_defaults(
        func=lambda a: _call(_tariffs_list())
    )
    for verb, what in (("put", "add a price (or change the row's)"), ("delete", "remove a row")):
        p = actions.add_parser(verb, help=f"{what}: a Tariff as JSON")
        source = p.add_mutually_exclusive_group(required=True)
        source.add_argument("--json", dest="text", help="the tariff as JSON")
        source.add_argument("--file", type=Path, help="a file holding the tariff as JSON")
        p.set_defaults(func=lambda a, v=verb: _call(_tariff_change(v, _document(a.text, a.file))))


def _tariffs_list() -> Work:
    async def work(stub: Stub, actor: ss.Actor) -> list[Message]:
        return list((await stub.ListTariffs(ss.ListTariffsRequest(), timeout=30)).tariffs)

    return work


def _tariff_change(verb: str, doc: dict[str, Any]) -> Work:
    tariff = ss.Tariff()
    _parse(doc, tariff)

    async def work(stub: Stub, actor: ss.Actor) -> Message:
        if verb == "put":
            return await stub.PutTariff(ss.PutTariffRequest(actor=actor, tariff=tariff), timeout=30)
        return await stub.DeleteTariff(
            ss.DeleteTariffRequest(actor=actor, tariff=tariff), timeout=30
        )

    return work


def _add_messenger_settings(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Partner channels (keyed by partner and channel) and messenger provider interfaces,
    each put as JSON."""
    channels = verbs.add_parser(
        "partner-channels",
        help="a partner's messenger channels: identities, WhatsApp templates, default TTL",
    ).add_subparsers(dest="action", required=True)
    listing = channels.add_parser("list", help="every partner's, or one's (--partner)")
    listing.add_argument("--partner", default="")
    listing.set_defaults(func=lambda a: _call(_messenger("ListPartnerChannels", a.partner)))
    providers = verbs.add_parser(
        "messenger-interfaces",
        help="messenger channels' provider interfaces (accounts, credentials, priority)",
    ).add_subparsers(dest="action", required=True)
    providers.add_parser("list", help="every one, without secrets").set_defaults(
        func=lambda a: _call(_messenger("ListMessengerInterfaces", ""))
    )
    for actions, kind in ((channels, "PartnerChannel"), (providers, "MessengerInterface")):
        put = actions.add_parser("put", help=f"create or replace one: a {kind} as JSON")
        source = put.add_mutually_exclusive_group(required=True)
        source.add_argument("--json", dest="text", help=f"the {kind} as JSON")
        source.add_argument("--file", type=Path, help=f"a file holding the {kind} as JSON")
        put.set_defaults(func=lambda a, k=kind: _call(_messenger_put(k, _document(a.text, a.file))))
    delete = channels.add_parser("delete", help="take a channel from a partner")
    delete.add_argument("--partner", required=True)
    delete.add_argument("--channel", required=True, help="VIBER, WHATSAPP, VK, TELEGRAM, …")
    delete.set_defaults(func=lambda a: _call(_partner_channel_delete(a.partner, a.channel)))
    remove = providers.add_parser("delete", help="remove one, by id")
    remove.add_argument("id")
    remove.set_defaults(func=lambda a: _call(_messenger_interface_delete(a.id)))


def _messenger(method: str, partner: str) -> Work:
    async def work(stub: Stub, actor: ss.Actor) -> list[Message]:
        if method == "ListPartnerChannels":
            request = ss.ListPartnerChannelsRequest(partner=partner)
            return list((await stub.ListPartnerChannels(request, timeout=30)).partner_channels)
        listed = await stub.ListMessengerInterfaces(ss.ListMessengerInterfacesRequest(), timeout=30)
        return list(listed.messenger_interfaces)

    return work


def _messenger_put(kind: str, doc: dict[str, Any]) -> Work:
    if kind == "PartnerChannel":
        pc = ss.PartnerChannel()
        _parse(doc, pc)
    else:
        mi = ss.MessengerInterface()
        _parse(doc, mi)

    async def work(stub: Stub, actor: ss.Actor) -> Message:
        if kind == "PartnerChannel":
            request = ss.PutPartnerChannelRequest(actor=actor, partner_channel=pc)
            return await stub.PutPartnerChannel(request, timeout=30)
        put = ss.PutMessengerInterfaceRequest(actor=actor, messenger_interface=mi)
        return await stub.PutMessengerInterface(put, timeout=30)

    return work


def _partner_channel_delete(partner: str, channel: str) -> Work:
    request = ss.DeletePartnerChannelRequest()
    _parse({"partner": partner, "channel": _channel_name(channel)}, request)

    async def work(stub: Stub, actor: ss.Actor) -> Message:
        request.actor.CopyFrom(actor)
        return await stub.DeletePartnerChannel(request, timeout=30)

    return work


def _channel_name(name: str) -> str:
    """VIBER or CHANNEL_VIBER (the enum's own name); FLASHINGCALL is CHANNEL_FLASH_CALL."""
    upper = name.upper()
    if upper == "FLASHINGCALL":
        return "CHANNEL_FLASH_CALL"
    return upper if upper.startswith("CHANNEL_") else f"CHANNEL_{upper}"


def _messenger_interface_delete(interface_id: str) -> Work:
    async def work(stub: Stub, actor: ss.Actor) -> Message:
        request = ss.DeleteMessengerInterfaceRequest(actor=actor, id=interface_id)
        return await stub.DeleteMessengerInterface(request, timeout=30)

    return work


# -- the calls --------------------------------------------------------------------------------


def _api_keys(verb: str, a: argparse.Namespace) -> Work:
    async def work(stub: Stub, actor: ss.Actor) -> Message:
        if verb == "Create":
            return await stub.CreateApiKey(
                ss.CreateApiKeyRequest(actor=actor, partner=a.partner, note=a.note), timeout=30
            )
        if verb == "List":
            return await stub.ListApiKeys(ss.ListApiKeysRequest(partner=a.partner), timeout=30)
        return await stub.RevokeApiKey(
            ss.RevokeApiKeyRequest(actor=actor, partner=a.partner, id=a.id), timeout=30
        )

    return work


def _list(e: Entity, operator: str = "") -> Work:
    async def work(stub: Stub, actor: ss.Actor) -> list[Message]:
        return await _all(stub, e, operator)

    return work


async def _all(stub: Stub, e: Entity, operator: str = "") -> list[Message]:
    request_type = getattr(ss, f"{e.list_rpc}Request")
    items: list[Message] = []
    token = ""
    while True:
        request = request_type()
        if e.paged:
            request.page_size, request.page_token = 1000, token
        if operator:
            request.operator = operator
        page = await getattr(stub, e.list_rpc)(request, timeout=30)
        items += getattr(page, e.items)
        token = page.next_page_token if e.paged else ""
        if not token:
            return items


def _get(e: Entity, key: str | int) -> Work:
    async def work(stub: Stub, actor: ss.Actor) -> Message:
        for item in await _all(stub, e):
            if getattr(item, e.key) == key:
                return item
        sys.exit(f"NOT_FOUND: no {e.message} with {e.key} {key!r}")

    return work


def _document(text: str | None, path: Path | None) -> dict[str, Any]:
    try:
        raw = text if text is not None else path.read_text() if path else ""
        doc = json.loads(raw)
    except OSError as err:
        sys.exit(f"cannot read {path}: {err.strerror}")
    except ValueError as err:
        sys.exit(f"INVALID_REQUEST: not JSON: {err}")
    if not isinstance(doc, dict):
        sys.exit("INVALID_REQUEST: the entity is a JSON object")
    return doc


def _parse(doc: dict[str, Any], message: Message) -> None:
    try:
        json_format.ParseDict(doc, message)
    except json_format.ParseError as err:
        sys.exit(f"INVALID_REQUEST: the JSON does not fit {message.DESCRIPTOR.name}: {err}")


def _put(e: Entity, doc: dict[str, Any]) -> Work:
    if e.message == "Partner":
        return _put_partner(doc)

    async def work(stub: Stub, actor: ss.Actor) -> Message:
        request = getattr(ss, f"Put{e.message}Request")(actor=actor)
        _parse(doc, getattr(request, e.put_field))
        result: Message = await getattr(stub, f"Put{e.message}")(request, timeout=30)
        return result

    return work


def _put_partner(doc: dict[str, Any]) -> Work:
    """Partners are created (with "password") or have the fields in the JSON changed
    ("smppPassword": the SMPP bind's own password, "" to remove it)."""
    password = str(doc.pop("password", ""))
    smpp_password = doc.pop("smppPassword", None)
    partner = ss.Partner()
    _parse(doc, partner)

    async def work(stub: Stub, actor: ss.Actor) -> Message:
        try:
            await stub.GetPartner(ss.GetPartnerRequest(login=partner.login), timeout=30)
        except grpc.aio.AioRpcError as err:
            if err.code() != grpc.StatusCode.NOT_FOUND:
                raise
            return await stub.CreatePartner(
                ss.CreatePartnerRequest(
                    actor=actor,
                    partner=partner,
                    password=password,
                    smpp_password=str(smpp_password or ""),
                ),
                timeout=30,
            )
        mask = field_mask_pb2.FieldMask()
        mask.FromJsonString(",".join(k for k in doc if k != "login"))  # camelCase → paths
        if password:
            mask.paths.append("password")
        if smpp_password is not None:
            mask.paths.append("smpp_password")
        return await stub.UpdatePartner(
            ss.UpdatePartnerRequest(
                actor=actor,
                partner=partner,
                update_mask=mask,
                password=password,
                smpp_password=str(smpp_password),
            ),
            timeout=30,
        )

    return work


def _delete(e: Entity, key: str | int) -> Work:
    async def work(stub: Stub, actor: ss.Actor) -> Message:
        request = getattr(ss, f"Delete{e.message}Request")(actor=actor, **{e.key: key})
        result: Message = await getattr(stub, f"Delete{e.message}")(request, timeout=30)
        return result

    return work


def _numbers(a: argparse.Namespace, white: bool) -> Work:
    kind = "Whitelist" if white else "Blacklist"
    where = {"partner": a.partner, **({"mailing": a.mailing} if white else {})}

    async def work(stub: Stub, actor: ss.Actor) -> Any:
        if a.action == "list":
            entries: list[Message] = []
            token = ""
            while True:
                page = await getattr(stub, f"List{kind}Entries")(
                    getattr(ss, f"List{kind}EntriesRequest")(
                        page_size=1000, page_token=token, **where
                    ),
                    timeout=30,
                )
                entries += page.entries
                token = page.next_page_token
                if not token:
                    return entries
        verb = "Add" if a.action == "add" else "Remove"
        entry = getattr(ss, f"{kind}Entry")
        note: dict[str, Any] = {"note": a.note} if a.action == "add" else {}
        if a.action == "add" and not white:
            note["keep_in_mailings"] = a.keep_in_mailings
        request = getattr(ss, f"{verb}{kind}EntriesRequest")(
            actor=actor, entries=[entry(number=n, **where, **note) for n in a.numbers]
        )
        return await getattr(stub, f"{verb}{kind}Entries")(request, timeout=30)

    return work


def _rollback(revision: int) -> Work:
    async def work(stub: Stub, actor: ss.Actor) -> Message:
        return await stub.RollbackSettings(
            ss.RollbackSettingsRequest(actor=actor, revision=revision), timeout=30
        )

    return work


def _revisions(limit: int) -> Work:
    async def work(stub: Stub, actor: ss.Actor) -> list[Message]:
        out: list[Message] = []
        token = ""
        while len(out) < limit:
            page = await stub.ListRevisions(
                ss.ListRevisionsRequest(page_size=min(limit - len(out), 1000), page_token=token),
                timeout=30,
            )
            out += page.revisions
            token = page.next_page_token
            if not token:
                break
        return out

    return work


def _audit(a: argparse.Namespace) -> Work:
    query = ss.ListAuditEntriesRequest(actor=a.actor, entity=a.entity)
    for name in ("since", "until"):
        if getattr(a, name):
            try:
                getattr(query, name).FromJsonString(getattr(a, name))
            except ValueError as err:
                raise SystemExit(
                    f"--{name} must be an RFC 3339 time, e.g. 2026-12-01T00:00:00Z"
                ) from err

    async def work(stub: Stub, actor: ss.Actor) -> list[Message]:
        out: list[Message] = []
        while len(out) < a.limit:
            query.page_size = min(a.limit - len(out), 1000)
            page = await stub.ListAuditEntries(query, timeout=30)
            out += page.entries
            query.page_token = page.next_page_token
            if not query.page_token:
                break
        return out

    return work


def _call(work: Work) -> None:
    """Run one command against core; print its answer as JSON or exit with the refusal."""
    settings = SettingsCliSettings()
    actor = ss.Actor(login=settings.actor or _os_user(), remote_ip="cli")

    try:
        answer = _with_core(settings.core_target, lambda stub: work(stub, actor))
    except grpc.aio.AioRpcError as err:
        sys.exit(f"core at {settings.core_target} refused: {refusal_text(err)}")
    print(json.dumps(_jsonable(answer), ensure_ascii=False, indent=2))


def _with_core(target: str, work: Callable[[Stub], Awaitable[T]]) -> T:
    """``work`` with a SettingsService stub on a channel to core; gRPC errors propagate."""

    async def run() -> T:
        channel = open_channel(target)
        try:
            return await work(settings_service_pb2_grpc.SettingsServiceStub(channel))
        finally:
            await channel.close()

    return asyncio.run(run())


def _jsonable(answer: Message | list[Message]) -> Any:
    if isinstance(answer, list):
        return [_jsonable(m) for m in answer]
    return json_format.MessageToDict(answer, always_print_fields_with_no_presence=True)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in some containers
        return "cli"


# -- bulk imports: parsed here, applied by core -----------------------------------------------


def _run(kind: str, path: Path) -> None:
    # Local import: other `rcs` commands do not load the file parser.
    from rcs_routing.number_plan import BadFileError
    from rcs_routing.number_plan_import import number_plan_chunks, ported_chunks

    settings = SettingsCliSettings()
    actor = ss.Actor(login=settings.actor or _actor(), remote_ip="cli")
    try:
        data = path.read_bytes()
    except OSError as err:
        sys.exit(f"cannot read {path}: {err.strerror}")
    try:
        chunks = (number_plan_chunks if kind == "number_plan" else ported_chunks)(data, actor)
    except BadFileError as err:
        _bad_lines(path, [str(e) for e in err.errors])

    async def send(stub: Stub) -> ss.ImportNumberPlanResponse:
        answer: ss.ImportNumberPlanResponse = await stub.ImportNumberPlan(iter(chunks), timeout=600)
        return answer

    try:
        answer = _with_core(settings.core_target, send)
    except grpc.aio.AioRpcError as err:
        reason = error_reason(err) or err.code().name
        _, _, lines = (err.details() or "").partition("\n")
        if reason == Reason.INVALID_REQUEST and lines:  # lines only core could judge
            _bad_lines(path, lines.splitlines())
        sys.exit(f"refused: {reason}: {err.details()}; nothing imported")
    print(answer.summary)


def _bad_lines(path: Path, lines: list[str]) -> NoReturn:
    for line in lines:
        print(f"{path}: {line}", file=sys.stderr)
    print(f"refused: {len(lines)} bad line(s) in {path}; nothing imported", file=sys.stderr)
    sys.exit(EXIT_BAD_FILE)


def _actor() -> str:
    return f"cli:{_os_user()}"
