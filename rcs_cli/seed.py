"""Demo data for the embedded installation: partner demo/demo routed to the SMSC simulator
and granted every messenger channel;
the first administrator with a generated password (``ensure_admin``, issue 14: a fixed
admin/admin was open to anyone who read the README); and `rcs admin-user` to manage
administrators."""

from __future__ import annotations

import secrets

import psycopg
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from rcs_core.auth import partners_store as partners
from rcs_core.auth.passwords import hash_password
from rcs_core.settings import admins, store
from rcs_core.settings.partner_channels import grant_every_messenger
from rcs_rpns.model import InstallFields, Platform
from rcs_rpns.providers.credentials import (
    ApnsKey,
    Credentials,
    FcmAccount,
    HmsClient,
    RustoreProject,
)
from rcs_rpns.storage import apps as push_apps
from rcs_rpns.storage import installs as push_installs


async def seed_demo(dsn: str, *, smsc_host: str, smsc_port: int) -> None:
    """Idempotent: a second run keeps the data and only refreshes the demo rows."""
    async with await psycopg.AsyncConnection.connect(dsn) as conn, conn.transaction():
        await partners.upsert(conn, "demo", "demo", default_sender="RCS")
        # Messenger channels are granted (deny by default): demo gets each, any sender.
        await grant_every_messenger(conn, "demo")
        cur = await conn.execute(
            "INSERT INTO operators (name, mcc, mnc) VALUES ('Demo Mobile', '250', '99')"
            " ON CONFLICT (name) DO UPDATE SET mcc = EXCLUDED.mcc RETURNING id"
        )
        row = await cur.fetchone()
        assert row is not None
        operator_id = row[0]
        cur = await conn.execute(
            "INSERT INTO directions (name, operator_id) VALUES ('Russia (demo)', %s)"
            " ON CONFLICT (name) DO UPDATE SET operator_id = EXCLUDED.operator_id RETURNING id",
            (operator_id,),
        )
        row = await cur.fetchone()
        assert row is not None
        await conn.execute(
            "INSERT INTO direction_prefixes (prefix, direction_id) VALUES ('7', %s)"
            " ON CONFLICT (prefix) DO NOTHING",
            (row[0],),
        )
        await conn.execute(
            "INSERT INTO interfaces (id, host, port, system_id, password, window_size)"
            " VALUES ('smsc-sim', %s, %s, 'rcs', 'secret', 50)"
            " ON CONFLICT (id) DO UPDATE SET host = EXCLUDED.host, port = EXCLUDED.port",
            (smsc_host, smsc_port),
        )
        await conn.execute(
            "INSERT INTO operator_routes (operator_id, interface_id) VALUES (%s, 'smsc-sim')"
            " ON CONFLICT DO NOTHING",
            (operator_id,),
        )
        await conn.execute(
            "UPDATE settings_revision SET revision = revision + 1, changed_at = now()"
        )


async def upsert_admin(dsn: str, login: str, password: str) -> None:
    """Create an administrator or reset their password."""
    async with await psycopg.AsyncConnection.connect(dsn) as conn, conn.transaction():
        await admins.save_admin(conn, login, hash_password(password), actor="rcs admin-user")


async def ensure_admin(dsn: str, login: str = "admin") -> str | None:
    """When the installation has no administrator yet, create ``login`` with a random
    password and return it (to be shown once); None when there is one already."""
    password = secrets.token_urlsafe(12)
    async with await psycopg.AsyncConnection.connect(dsn) as conn, conn.transaction():
        await store.lock_settings(conn)
        cur = await conn.execute("SELECT 1 FROM admins LIMIT 1")
        if await cur.fetchone():
            return None
        await admins.save_admin(conn, login, hash_password(password), actor="rcs run")
    return password


# The demo push application (serviceNumber DEMO_APP) and the demo subscriber's devices: an
# iPhone (its primary install) and an Android phone, registered as the SDK would.
DEMO_PUSH_APP = "DEMO_APP"
DEMO_PUSH_NUMBER = "79161234567"
DEMO_IOS_TOKEN = "d3" * 32
DEMO_ANDROID_TOKEN = "demo-android-fcm-token"  # noqa: S105 (a device token)


def _demo_push_credentials() -> Credentials:
    """Keys of the right kinds, made here: the PNS simulator checks the tokens' form (ES256
    with kid and iss, RS256 for FCM's exchange), not whose they are."""
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = {
        name: key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        for name, key in (("ec", ec_key), ("rsa", rsa_key))
    }
    return Credentials(
        apns=ApnsKey(
            team_id="DEMOTEAM01", key_id="DEMOKEY001", private_key_pem=pem["ec"], topic="demo.app"
        ),
        fcm=FcmAccount(
            project_id="demo-app",
            client_email="push@demo-app.iam.gserviceaccount.com",
            private_key_pem=pem["rsa"],
        ),
        hms=HmsClient(app_id="100000001", app_secret="demo-hms-secret"),  # noqa: S106 (demo)
        rustore=RustoreProject(
            project_id="demo-rustore",
            service_token="demo-rustore-token",  # noqa: S106 (demo)
        ),
    )


async def seed_push_demo(dsn: str) -> str:
    """Idempotent: the demo application (the same api key on every run) and its two
    devices; returns the application's api key."""
    async with await psycopg.AsyncConnection.connect(dsn) as conn, conn.transaction():
        app = await push_apps.find(conn, "demo", DEMO_PUSH_APP)
        if app is None:
            app = await push_apps.put(
                conn,
                partner="demo",
                service_number=DEMO_PUSH_APP,
                min_version="",
                credentials=_demo_push_credentials(),
            )
        for platform, token, primary in (
            (Platform.IOS, DEMO_IOS_TOKEN, True),
            (Platform.ANDROID, DEMO_ANDROID_TOKEN, False),
        ):
            await push_installs.register(
                conn,
                app.id,
                InstallFields(
                    platform=platform,
                    token=token,
                    phone=DEMO_PUSH_NUMBER,
                    external_user_id="demo-user",
                    app_version="1.0.0",
                    primary=primary,
                ),
            )
        return app.api_key
