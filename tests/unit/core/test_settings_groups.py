"""SettingsService is composed of groups of RPCs: every RPC of the proto is defined by exactly
one group and served by the registered servicer through that group, over a real gRPC server."""

from __future__ import annotations

import grpc
import pytest
from psycopg_pool import AsyncConnectionPool

from rcs.core.v1 import settings_service_pb2 as ss
from rcs.core.v1 import settings_service_pb2_grpc
from rcs_core.settings.admin_rpcs import AdministratorSettings
from rcs_core.settings.api_keys import ApiKeySettings
from rcs_core.settings.audit import AuditSettings
from rcs_core.settings.imports import ImportSettings
from rcs_core.settings.inbound import InboundRouteSettings
from rcs_core.settings.partner_channel_rpcs import (
    MessengerInterfaceSettings,
    PartnerChannelSettings,
)
from rcs_core.settings.policy import PolicySettings, SettingsBase
from rcs_core.settings.servicer import EntitySettings, SettingsServicer, rpc_names
from rcs_runtime.grpc_client import open_channel
from tests.support import start_server

GROUPS: tuple[type[SettingsBase], ...] = (
    EntitySettings,
    PolicySettings,
    InboundRouteSettings,
    ApiKeySettings,
    AuditSettings,
    ImportSettings,
    PartnerChannelSettings,
    MessengerInterfaceSettings,
    AdministratorSettings,
)
RPCS = {m.name for m in ss.DESCRIPTOR.services_by_name["SettingsService"].methods}


def test_each_rpc_is_defined_by_exactly_one_group() -> None:
    owners: dict[str, list[str]] = {}
    for group in GROUPS:
        for name in rpc_names(group):
            owners.setdefault(name, []).append(group.__name__)
    assert set(owners) == RPCS
    assert {name: groups for name, groups in owners.items() if len(groups) > 1} == {}


def test_the_groups_are_composed_not_inherited() -> None:
    for group in GROUPS:
        assert group.__mro__[1:] == (SettingsBase, object), group
    assert not issubclass(SettingsServicer, SettingsBase)


def test_the_servicer_delegates_every_rpc_to_a_group() -> None:
    for name in RPCS:
        method = vars(SettingsServicer).get(name)
        assert method is not None, f"SettingsServicer does not delegate {name}"


async def test_a_delegated_rpc_answers_over_grpc_with_the_groups_validation() -> None:
    """No database: the group refuses the request before it would connect."""
    pool = AsyncConnectionPool("postgresql://nobody@127.0.0.1:1/none", open=False)
    server = await start_server(
        lambda s: settings_service_pb2_grpc.add_SettingsServiceServicer_to_server(
            SettingsServicer(pool), s
        )
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    try:
        stub = settings_service_pb2_grpc.SettingsServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.CreateApiKey(ss.CreateApiKeyRequest(partner="acme", note="n" * 201))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "note is at most 200 characters" in (err.value.details() or "")
    finally:
        await channel.close()
        await server.stop(0)
