"""Demo data and administrators, written through the running services' gRPC APIs: `rcs
seed-demo` (partner demo/demo routed to the SMSC simulator, the demo push application and
its devices), `rcs admin-user` and the first administrator of `rcs run`. Core makes each
settings change a revision (a standby refuses it naming the master); nothing here touches
a database."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from rcs.common.v1 import channel_pb2
from rcs.core.v1 import settings_service_pb2 as ss
from rcs.core.v1 import settings_service_pb2_grpc
from rcs.rpns.v1 import app_service_pb2 as aps
from rcs.rpns.v1 import app_service_pb2_grpc, device_service_pb2_grpc
from rcs.rpns.v1 import device_service_pb2 as ds
from rcs_runtime.grpc_client import open_channel
from rcs_runtime.settings import RcsSettings

if TYPE_CHECKING:  # the async stub types exist only in the generated .pyi
    from rcs.core.v1.settings_service_pb2_grpc import SettingsServiceAsyncStub as Stub

# The demo push application (serviceNumber DEMO_APP) and the demo subscriber's devices: an
# iPhone (its primary install) and an Android phone, registered as the SDK would.
DEMO_PUSH_APP = "DEMO_APP"
DEMO_PUSH_NUMBER = "79161234567"
DEMO_IOS_TOKEN = "d3" * 32
DEMO_ANDROID_TOKEN = "demo-android-fcm-token"  # noqa: S105 (a device token)
DEMO_OPERATOR = "Demo Mobile"
DEMO_INTERFACE = "smsc-sim"
# Messenger channels are deny by default (migration 0141): demo is granted each, any sender.
DEMO_MESSENGERS = (
    channel_pb2.CHANNEL_VIBER,
    channel_pb2.CHANNEL_WHATSAPP,
    channel_pb2.CHANNEL_VK,
    channel_pb2.CHANNEL_FLASH_CALL,
    channel_pb2.CHANNEL_TELEGRAM,
)


class SeedSettings(RcsSettings):
    core_target: str = "127.0.0.1:50051"  # RCS_CORE_TARGET: core's SettingsService
    rpns_target: str = "127.0.0.1:50055"  # RCS_RPNS_TARGET: rpns's AppService, DeviceService
    actor: str = ""  # RCS_ACTOR; "cli" when empty


async def seed_settings(
    stub: Stub, actor: ss.Actor, *, smsc_host: str, smsc_port: int
) -> list[int]:
    """Partner demo/demo granted every messenger channel, interface smsc-sim, operator Demo
    Mobile (250/99) routed to it and direction "Russia (demo)" (prefix 7). Idempotent: what
    is stored like that already makes no revision. Returns the revisions made."""
    revisions: list[int] = []
    try:
        await stub.GetPartner(ss.GetPartnerRequest(login="demo"), timeout=30)
    except grpc.aio.AioRpcError as err:
        if err.code() != grpc.StatusCode.NOT_FOUND:
            raise
        partner = ss.Partner(login="demo", default_sender="RCS", default_ttl_seconds=86400)
        created = await stub.CreatePartner(
            ss.CreatePartnerRequest(actor=actor, partner=partner, password="demo"),  # noqa: S106
            timeout=30,
        )
        revisions.append(created.revision)
    for channel in DEMO_MESSENGERS:
        granted = await stub.PutPartnerChannel(
            ss.PutPartnerChannelRequest(
                actor=actor, partner_channel=ss.PartnerChannel(partner="demo", channel=channel)
            ),
            timeout=30,
        )
        revisions.append(granted.revision)
    interface = ss.Interface(
        id=DEMO_INTERFACE,
        host=smsc_host,
        port=smsc_port,
        system_id="rcs",
        password="secret",  # noqa: S106 (the SMSC simulator's)
        window_size=50,
        enabled=True,
    )
    put_if = await stub.PutInterface(
        ss.PutInterfaceRequest(actor=actor, interface=interface), timeout=30
    )
    operator = ss.Operator(name=DEMO_OPERATOR, mcc="250", mnc="99", interface_ids=[DEMO_INTERFACE])
    put_op = await stub.PutOperator(
        ss.PutOperatorRequest(actor=actor, operator=operator), timeout=30
    )
    direction = ss.Direction(name="Russia (demo)", operator=DEMO_OPERATOR, prefixes=["7"])
    put_dir = await stub.PutDirection(
        ss.PutDirectionRequest(actor=actor, direction=direction), timeout=30
    )
    revisions += [put_if.revision, put_op.revision, put_dir.revision]
    return [r for r in revisions if r]


def _pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def demo_app() -> aps.App:
    """The demo application with keys of the right kinds, made here: the PNS simulator checks
    the tokens' form (ES256 with kid and iss, RS256 for FCM's exchange), not whose they are."""
    return aps.App(
        partner="demo",
        service_number=DEMO_PUSH_APP,
        apns=aps.ApnsCredentials(
            team_id="DEMOTEAM01",
            key_id="DEMOKEY001",
            private_key_pem=_pem(ec.generate_private_key(ec.SECP256R1())),
            topic="demo.app",
        ),
        fcm=aps.FcmCredentials(
            project_id="demo-app",
            client_email="push@demo-app.iam.gserviceaccount.com",
            private_key_pem=_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ),
        hms=aps.HmsCredentials(app_id="100000001", app_secret="demo-hms-secret"),  # noqa: S106
        rustore=aps.RustoreCredentials(
            project_id="demo-rustore",
            service_token="demo-rustore-token",  # noqa: S106 (demo)
        ),
    )


async def seed_push(channel: grpc.aio.Channel) -> str:
    """The demo application and its two devices (registering a token again updates its
    install); returns the api key. When the application exists rpns keeps its id and api
    key, but its demo credentials are replaced by new keys: rpns returns no secrets to
    compare with, and the PNS simulator accepts any keys of the right kinds."""
    apps = app_service_pb2_grpc.AppServiceStub(channel)
    devices = device_service_pb2_grpc.DeviceServiceStub(channel)
    app = (await apps.PutApp(aps.PutAppRequest(app=demo_app()), timeout=30)).app
    for platform, token, primary in (
        (ds.PLATFORM_IOS, DEMO_IOS_TOKEN, True),
        (ds.PLATFORM_ANDROID, DEMO_ANDROID_TOKEN, False),
    ):
        fields = ds.InstallFields(
            platform=platform,
            token=token,
            phone=DEMO_PUSH_NUMBER,
            external_user_id="demo-user",
            app_version="1.0.0",
            primary=primary,
            push_enabled=True,
            os_push_enabled=True,
        )
        await devices.RegisterInstall(
            ds.RegisterInstallRequest(app_id=app.app_id, fields=fields), timeout=30
        )
    return app.api_key


def actor_of(settings: SeedSettings, default: str) -> ss.Actor:
    return ss.Actor(login=settings.actor or default, remote_ip="cli")


async def seed_demo(
    settings: SeedSettings, *, smsc_host: str, smsc_port: int, actor: str = "rcs seed-demo"
) -> str:
    """The demo settings on core, then the demo push application on rpns; its api key."""
    core = open_channel(settings.core_target)
    try:
        await seed_settings(
            settings_service_pb2_grpc.SettingsServiceStub(core),
            actor_of(settings, actor),
            smsc_host=smsc_host,
            smsc_port=smsc_port,
        )
    finally:
        await core.close()
    rpns = open_channel(settings.rpns_target)
    try:
        return await seed_push(rpns)
    finally:
        await rpns.close()


async def put_admin(settings: SeedSettings, login: str, password: str) -> bool:
    """Create an administrator or set their password; True when created."""
    channel = open_channel(settings.core_target)
    try:
        stub = settings_service_pb2_grpc.SettingsServiceStub(channel)
        request = ss.PutAdministratorRequest(
            actor=actor_of(settings, "rcs admin-user"), login=login, password=password
        )
        return (await stub.PutAdministrator(request, timeout=30)).created
    finally:
        await channel.close()


async def first_admin(settings: SeedSettings, login: str = "admin") -> str:
    """When the installation has no administrator yet, create ``login`` with a generated
    password and return it (to be shown once); "" when there is one."""
    channel = open_channel(settings.core_target)
    try:
        stub = settings_service_pb2_grpc.SettingsServiceStub(channel)
        request = ss.CreateFirstAdministratorRequest(
            actor=actor_of(settings, "rcs run"), login=login
        )
        return (await stub.CreateFirstAdministrator(request, timeout=30)).password
    finally:
        await channel.close()
