"""`make run`: a whole installation on one machine with nothing else to install.

Embedded PostgreSQL (pgserver, data under .data/), migrations; core and rpns, which get the
demo data and the first administrator over their gRPC APIs (rcs_cli/seed.py); then the other
processes, one per component — core (and a second core for the connector's receipts),
dispatcher, routing, connector, SMSC simulator, REST and SMPP gateways — supervised here
(rcs_cli/supervisor.py: a process or PostgreSQL that dies is restarted with backoff).
Ctrl-C stops them all; a second run keeps the data.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
import urllib.request
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from rcs_cli.embedded_pg import EmbeddedPostgres
from rcs_cli.seed import (
    DEMO_ANDROID_TOKEN,
    DEMO_IOS_TOKEN,
    DEMO_PUSH_APP,
    DEMO_PUSH_NUMBER,
    SeedSettings,
    first_admin,
    seed_demo,
)
from rcs_cli.supervisor import ChildProcess, CrashLoopError, RestartPolicy, Supervisor
from rcs_core.db.migrate import migrate
from rcs_runtime.settings import RcsSettings
from rcs_simulators.pns.certs import make_test_ca


class EmbeddedSettings(RcsSettings):
    """Where `rcs run` keeps its data and which loopback ports its processes take."""

    data_dir: Path = Path(".data")
    rest_port: int = 8080
    smsc_port: int = 2776
    core_port: int = 50051
    routing_port: int = 50052
    connector_port: int = 50053
    receipts_port: int = 50054  # the second core, which takes the connector's receipts
    smpp_port: int = 2775  # partners' SMPP gateway
    rpns_port: int = 50055  # the push service's gRPC (ConnectorService for push, devices, apps)
    rpns_sdk_port: int = 8090  # the push service's REST endpoints for the mobile SDK
    pns_apns_port: int = 2197  # the PNS simulator's APNs (HTTP/2 + TLS)
    pns_http_port: int = 2198  # the PNS simulator's FCM, HMS, RuStore and /control
    messengers_port: int = 50056  # the messenger service's gRPC (ConnectorService for Viber)
    messengers_webhook_port: int = 8091  # where Viber's callbacks arrive
    viber_sim_port: int = 2199  # the Viber simulator's send_message and /sim control API
    whatsapp_sim_port: int = 2299  # the WhatsApp Cloud API simulator's messages and /sim
    telegram_sim_port: int = 2399  # the Telegram simulator's sendMessage and /sim
    vk_sim_port: int = 2499  # the VK simulator's messages.send and /sim control API
    flashcall_sim_port: int = 2599  # the FlashingCall simulator's call API and /sim
    ftp_port: int = 2121  # partners' FTPS gateway (mailing files)
    # Prometheus /metrics of core, dispatcher, routing, connector, simulator from this port
    # on (0: none); the REST gateway serves its own on its port.
    metrics_base_port: int = 9101
    # A component (or PostgreSQL) that dies is started again after a backoff that doubles
    # from 0.5 s up to this; one that dies this often within the window stops everything.
    supervisor_backoff_max_seconds: float = 30.0
    supervisor_crash_loop_restarts: int = 10
    supervisor_crash_loop_seconds: float = 300.0

    def restart_policy(self) -> RestartPolicy:
        return RestartPolicy(
            backoff_max_seconds=self.supervisor_backoff_max_seconds,
            crash_loop_restarts=self.supervisor_crash_loop_restarts,
            crash_loop_seconds=self.supervisor_crash_loop_seconds,
        )

    def metrics_port_of(self, component: str) -> int:
        order = (
            "core",
            "dispatcher",
            "routing",
            "connector",
            "simulator",
            "receipts",
            "rpns",
            "pns-simulator",
            "messengers",
        )
        if not self.metrics_base_port or component not in order:
            return 0
        return self.metrics_base_port + order.index(component)


# (name, component) in start order. "receipts" is a second core that takes the connector's
# receipts and MO, and that the SMPP gateway leases them from for its ESMEs, so that
# neither ever holds up a submit in the accepting core's event loop.
PROCESSES = (
    ("routing", "routing"),
    ("simulator", "simulator"),
    ("receipts", "core"),
    ("pns-simulator", "pns-simulator"),
    ("rpns", "rpns"),
    ("viber-simulator", "viber-simulator"),
    ("whatsapp-simulator", "whatsapp-simulator"),
    ("telegram-simulator", "telegram-simulator"),
    ("vk-simulator", "vk-simulator"),
    ("flashcall-simulator", "flashcall-simulator"),
    ("messengers", "messengers"),
    ("connector", "connector"),
    ("core", "core"),
    ("dispatcher", "dispatcher"),
    ("rest", "rest"),
    ("smpp", "smpp"),
    ("ftp", "ftp"),
)
# Started first: the demo data and the first administrator are written through their gRPC
# APIs (a settings revision each) before the rest start.
FIRST = ("core", "rpns")
# The delivery side yields the CPU to the accepting side (RCS_NICE); the simulator stands
# for operators' SMSCs, which run elsewhere.
NICE = {
    "routing": 10,
    "simulator": 10,
    "receipts": 10,
    "connector": 10,
    "dispatcher": 10,
    "rpns": 10,
    "pns-simulator": 10,
    "messengers": 10,
    "viber-simulator": 10,
    "whatsapp-simulator": 10,
    "telegram-simulator": 10,
    "vk-simulator": 10,
    "flashcall-simulator": 10,
}


def _own_env(s: EmbeddedSettings, name: str) -> dict[str, str]:
    """What one process's environment has beyond the installation's."""
    env = {"RCS_METRICS_PORT": str(s.metrics_port_of(name)), "RCS_NICE": str(NICE.get(name, 0))}
    receipts = f"127.0.0.1:{s.receipts_port}"
    if name == "receipts":
        env["RCS_CORE_BIND"] = receipts
    elif name in ("connector", "rpns", "messengers"):  # channel receipts to the receipts core
        env["RCS_CORE_TARGET"] = receipts
    elif name == "simulator":  # receipts it owes survive its restarts
        env["RCS_SMSC_STATE_FILE"] = str(s.data_dir.resolve() / "smsc-owed.jsonl")
    elif name == "smpp":  # receipts and MO to ESMEs are leased from it too
        env["RCS_SMPP_REPORTS_CORE_TARGET"] = receipts
    return env


def _database(pg: EmbeddedPostgres) -> str:
    pg.start()
    pg.psql("SELECT 1;")
    exists = pg.psql("SELECT 1 FROM pg_database WHERE datname = 'rcs';")
    if "(1 row)" not in exists:
        pg.psql("CREATE DATABASE rcs;")
    return pg.uri("rcs")


def _env(s: EmbeddedSettings, dsn: str) -> dict[str, str]:
    """The environment of every child: each reads its own settings object from it."""
    env = dict(os.environ)
    env.update(
        {
            "RCS_DATABASE_URL": dsn,
            "RCS_INSTALLATION_ID": str(s.installation_id),
            "RCS_CORE_BIND": f"127.0.0.1:{s.core_port}",
            "RCS_CORE_TARGET": f"127.0.0.1:{s.core_port}",
            "RCS_ROUTING_BIND": f"127.0.0.1:{s.routing_port}",
            "RCS_ROUTING_TARGET": f"127.0.0.1:{s.routing_port}",
            "RCS_CONNECTOR_BIND": f"127.0.0.1:{s.connector_port}",
            "RCS_CONNECTOR_TARGET": f"127.0.0.1:{s.connector_port}",
            "RCS_SMSC_PORT": str(s.smsc_port),
            "RCS_REST_PORT": str(s.rest_port),
            "RCS_SMPP_PORT": str(s.smpp_port),
            **_push_env(s),
            **_viber_env(s),
            **_whatsapp_telegram_env(s),
            **_vk_flashcall_env(s),
            "RCS_FTP_PORT": str(s.ftp_port),
            "RCS_FTP_ROOT": str(s.data_dir.resolve() / "ftp" / "partners"),
            "RCS_FTP_CERT_FILE": str(s.data_dir.resolve() / "ftp" / "cert.pem"),
            "RCS_FTP_KEY_FILE": str(s.data_dir.resolve() / "ftp" / "key.pem"),
        }
    )
    return env


def _push_env(s: EmbeddedSettings) -> dict[str, str]:
    """rpns sends to the PNS simulator, whose devices confirm to rpns's SDK endpoints."""
    sim = f"http://127.0.0.1:{s.pns_http_port}"
    return {
        "RCS_RPNS_BIND": f"127.0.0.1:{s.rpns_port}",
        "RCS_RPNS_TARGET": f"127.0.0.1:{s.rpns_port}",
        "RCS_PUSH_TARGET": f"127.0.0.1:{s.rpns_port}",  # core's dispatcher hands PUSH to rpns
        "RCS_RPNS_SDK_PORT": str(s.rpns_sdk_port),
        "RCS_RPNS_APNS_URL": f"https://127.0.0.1:{s.pns_apns_port}",
        "RCS_RPNS_APNS_CA_FILE": str(_pns_cert_dir(s) / "ca.pem"),
        "RCS_RPNS_FCM_URL": f"{sim}/fcm",
        "RCS_RPNS_FCM_TOKEN_URL": f"{sim}/fcm/token",
        "RCS_RPNS_HMS_URL": f"{sim}/hms",
        "RCS_RPNS_HMS_TOKEN_URL": f"{sim}/hms/oauth2/v3/token",
        "RCS_RPNS_RUSTORE_URL": f"{sim}/rustore",
        "RCS_PNS_SIM_APNS_PORT": str(s.pns_apns_port),
        "RCS_PNS_SIM_HTTP_PORT": str(s.pns_http_port),
        "RCS_PNS_SIM_CERT_DIR": str(_pns_cert_dir(s)),
        "RCS_PNS_SIM_SDK_URL": f"http://127.0.0.1:{s.rpns_sdk_port}",
        "RCS_PNS_SIM_OPEN_RATIO": "0.5",
    }


def _viber_env(s: EmbeddedSettings) -> dict[str, str]:
    """The messenger service sends to the Viber simulator, which calls back its webhook.
    DEMO_VIBER_SILENT never confirms (so a Viber → SMS cascade falls back)."""
    token = "demo-viber-token"  # noqa: S105 (the simulated account's)
    return {
        "RCS_MESSENGERS_BIND": f"127.0.0.1:{s.messengers_port}",
        "RCS_MESSENGERS_TARGET": f"127.0.0.1:{s.messengers_port}",  # core's dispatcher
        "RCS_MESSENGERS_WEBHOOK_PORT": str(s.messengers_webhook_port),
        "RCS_VIBER_API_URL": f"http://127.0.0.1:{s.viber_sim_port}",
        "RCS_VIBER_AUTH_TOKEN": token,
        "RCS_VIBER_SIM_PORT": str(s.viber_sim_port),
        "RCS_VIBER_SIM_AUTH_TOKEN": token,
        "RCS_VIBER_SIM_WEBHOOK_URL": f"http://127.0.0.1:{s.messengers_webhook_port}/viber/webhook",
        "RCS_VIBER_SIM_OUTCOMES": f"{DEMO_VIBER_SILENT}=silent",
    }


def _whatsapp_telegram_env(s: EmbeddedSettings) -> dict[str, str]:
    """The messenger service sends WhatsApp and Telegram to their simulators, which call
    its webhook back (docs/whatsapp.md); every demo subscriber has a WhatsApp session open."""
    webhook = f"http://127.0.0.1:{s.messengers_webhook_port}"
    wa_token, wa_secret, wa_number_id = "demo-whatsapp-token", "demo-whatsapp-secret", "1"
    tg_token = "demo-telegram-token"  # noqa: S105 (the simulated account's)
    return {
        "RCS_WHATSAPP_API_URL": f"http://127.0.0.1:{s.whatsapp_sim_port}/v21.0",
        "RCS_WHATSAPP_PHONE_NUMBER_ID": wa_number_id,
        "RCS_WHATSAPP_ACCESS_TOKEN": wa_token,
        "RCS_WHATSAPP_APP_SECRET": wa_secret,
        "RCS_WHATSAPP_VERIFY_TOKEN": "demo-whatsapp-verify",
        "RCS_WHATSAPP_SIM_PORT": str(s.whatsapp_sim_port),
        "RCS_WHATSAPP_SIM_PHONE_NUMBER_ID": wa_number_id,
        "RCS_WHATSAPP_SIM_ACCESS_TOKEN": wa_token,
        "RCS_WHATSAPP_SIM_APP_SECRET": wa_secret,
        "RCS_WHATSAPP_SIM_WEBHOOK_URL": f"{webhook}/whatsapp/webhook",
        "RCS_TELEGRAM_API_URL": f"http://127.0.0.1:{s.telegram_sim_port}",
        "RCS_TELEGRAM_TOKEN": tg_token,
        "RCS_TELEGRAM_CALLBACK_URL": f"{webhook}/telegram/webhook",
        "RCS_TELEGRAM_SIM_PORT": str(s.telegram_sim_port),
        "RCS_TELEGRAM_SIM_TOKEN": tg_token,
    }


def _vk_flashcall_env(s: EmbeddedSettings) -> dict[str, str]:
    """The messenger service sends VK and flash calls to their simulators, which call its
    webhook back (docs/vk.md, docs/flashcall.md)."""
    webhook = f"http://127.0.0.1:{s.messengers_webhook_port}"
    vk_token, vk_secret = "demo-vk-token", "demo-vk-secret"
    fc_key, fc_callback = "demo-flashcall-key", "demo-flashcall-callback-key"
    return {
        "RCS_VK_API_URL": f"http://127.0.0.1:{s.vk_sim_port}",
        "RCS_VK_ACCESS_TOKEN": vk_token,
        "RCS_VK_GROUP_ID": "1",
        "RCS_VK_CALLBACK_SECRET": vk_secret,
        "RCS_VK_SIM_PORT": str(s.vk_sim_port),
        "RCS_VK_SIM_ACCESS_TOKEN": vk_token,
        "RCS_VK_SIM_CALLBACK_URL": f"{webhook}/vk/callback",
        "RCS_VK_SIM_CALLBACK_SECRET": vk_secret,
        "RCS_FLASHCALL_API_URL": f"http://127.0.0.1:{s.flashcall_sim_port}",
        "RCS_FLASHCALL_ACCESS_KEY": fc_key,
        "RCS_FLASHCALL_CALLBACK_KEY": fc_callback,
        "RCS_FLASHCALL_SIM_PORT": str(s.flashcall_sim_port),
        "RCS_FLASHCALL_SIM_ACCESS_KEY": fc_key,
        "RCS_FLASHCALL_SIM_CALLBACK_URL": f"{webhook}/flashcall/callback",
        "RCS_FLASHCALL_SIM_CALLBACK_KEY": fc_callback,
    }


def _pns_cert_dir(s: EmbeddedSettings) -> Path:
    return s.data_dir.resolve() / "pns-sim"


def _wait_ready(url: str, supervisor: Supervisor, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not all(supervisor.alive().values()):
            return False
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


async def _wait_serving(target: str, supervisor: Supervisor, within: float) -> None:
    """Until the gRPC server at ``target`` reports SERVING; TimeoutError when it does not
    within ``within`` seconds or a process died meanwhile."""
    deadline = time.monotonic() + within
    async with grpc.aio.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline and all(supervisor.alive().values()):
            try:
                answer = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(0.3)
    raise TimeoutError(f"{target} did not answer within {within:g} s")


async def _seed(s: EmbeddedSettings, supervisor: Supervisor) -> str:
    """The demo data and the first administrator, over core's and rpns's gRPC APIs, once they
    answer; prints the administrator's password when one was made. The push api key."""
    seed = SeedSettings(
        core_target=f"127.0.0.1:{s.core_port}",
        rpns_target=f"127.0.0.1:{s.rpns_port}",
    )
    await _wait_serving(seed.core_target, supervisor, 60)
    await _wait_serving(seed.rpns_target, supervisor, 60)
    push_key = await seed_demo(seed, smsc_host="127.0.0.1", smsc_port=s.smsc_port, actor="rcs run")
    admin_password = await first_admin(seed)
    if admin_password:
        print(
            f"rcs: administrator admin, password {admin_password}\n"
            "     (generated now and shown only this once; `rcs admin-user admin` sets"
            " another)",
            flush=True,
        )
    return push_key


def _say(text: str) -> None:
    print(f"rcs: {text}", flush=True)


DEMO_VIBER_SILENT = "79160000000"


def viber_cascade_curl(rest_port: int, number: str) -> str:
    """A one-line curl sending a Viber message that cascades to an SMS when Viber does not
    confirm it within its 30 s (rest_cascade.rst), printed by `make run`."""
    doc = {
        "login": "demo",
        "password": "demo",
        "id": "demo-cascade",
        "destAddr": number,
        "message": {
            "type": "VIBER",
            "data": {
                "instantContent": {"type": "TEXT", "data": {"text": "Code 1234"}},
                "serviceNumber": "RCS",
                "ttl": 30,
                "ttlUnit": "SECONDS",
            },
        },
        "cascadeChainLink": {
            "state": "DELIVERED",
            "message": {"type": "SMS", "data": {"text": "Code 1234", "serviceNumber": "RCS"}},
        },
    }
    body = json.dumps(doc, separators=(",", ":"))
    return (
        f"curl -s -X POST http://127.0.0.1:{rest_port}/api/v6/send"
        f" -H 'Content-Type: application/json' -d '{body}'"
    )


def run_embedded() -> int:
    s = EmbeddedSettings()
    data_dir = s.data_dir.resolve()
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    print(f"rcs: starting embedded PostgreSQL in {data_dir / 'pg'} …", flush=True)
    pg = EmbeddedPostgres(data_dir / "pg")
    dsn = _database(pg)
    asyncio.run(migrate(dsn, s.installation_id))
    make_test_ca(_pns_cert_dir(s))  # before rpns starts, which trusts its ca.pem
    for folder in ("in", "archive"):  # the demo partner's FTP folders (ftp_intercon.rst)
        (data_dir / "ftp" / "partners" / "demo" / folder).mkdir(parents=True, exist_ok=True)
    env = _env(s, dsn)
    supervisor = Supervisor(s.restart_policy(), _say)
    supervisor.start(pg, tier=0)
    stopping = False

    def _on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)

    def start(name: str, component: str) -> None:
        argv = [sys.executable, "-m", "rcs_cli", "serve", component]
        own = {**env, **_own_env(s, name)}
        supervisor.start(ChildProcess(name, argv, own, logs / f"{name}.log"))

    try:
        for name, component in PROCESSES:
            if name in FIRST:
                start(name, component)
        try:
            push_key = asyncio.run(_seed(s, supervisor))
        except (grpc.aio.AioRpcError, TimeoutError) as err:
            detail = err.details() if isinstance(err, grpc.aio.AioRpcError) else str(err)
            print(f"rcs: failed to seed the demo data ({detail}); logs in {logs}", flush=True)
            return 1
        for name, component in PROCESSES:
            if name not in FIRST:
                start(name, component)
        if not _wait_ready(f"http://127.0.0.1:{s.rest_port}/healthz", supervisor, 60):
            dead = [n for n, up in supervisor.alive().items() if not up]
            print(f"rcs: failed to start ({', '.join(dead) or 'timeout'}); logs in {logs}")
            return 1
        print(
            f"""
rcs: ready. Components log to {logs}/. Ctrl-C stops everything.

Send an SMS (demo partner, routed to the built-in SMSC simulator):

  curl -s -X POST http://127.0.0.1:{s.rest_port}/api/v6/send \\
    -H 'Content-Type: application/json' \\
    -d '{{"login":"demo","password":"demo","id":"demo-1","destAddr":"79161234567",
         "message":{{"type":"SMS","data":{{"text":"Hello from RCS","serviceNumber":"RCS"}}}}}}'

Then its status and history (use the mtNum from the answer):

  curl -s -u demo:demo http://127.0.0.1:{s.rest_port}/api/v6/messages/<mtNum>

A cascade: a push to the demo devices that falls back to an SMS when no device confirms
it within its 30 s (rest_cascade.rst); the same mtNum names both, each link reports:

  curl -s -X POST http://127.0.0.1:{s.rest_port}/api/v6/send \\
    -H 'Content-Type: application/json' \\
    -d '{{"login":"demo","password":"demo","id":"demo-2","destAddr":"{DEMO_PUSH_NUMBER}",
         "message":{{"type":"PUSH","data":{{"title":"RCS","text":"Hello by push",
           "serviceNumber":"{DEMO_PUSH_APP}","ttl":30,"ttlUnit":"SECONDS"}}}},
         "cascadeChainLink":{{"state":"DELIVERED","message":{{"type":"SMS",
           "data":{{"text":"Hello by SMS","serviceNumber":"RCS"}}}}}}}}'

The demo devices confirm pushes; to see the SMS go, make them silent first:

  curl -s http://127.0.0.1:{s.pns_http_port}/control/tokens -H 'Content-Type: application/json' \\
    -d '{{"{DEMO_IOS_TOKEN}":"silent","{DEMO_ANDROID_TOKEN}":"silent"}}'

A Viber message (text + image + button) to a subscriber who reads it, DELIVERED then
READ reaching the partner; then a Viber → SMS cascade to {DEMO_VIBER_SILENT}, whose Viber
never confirms, so the SMS goes after the Viber message's 30 s:

  curl -s -X POST http://127.0.0.1:{s.rest_port}/api/v6/send \\
    -H 'Content-Type: application/json' \\
    -d '{{"login":"demo","password":"demo","id":"demo-3","destAddr":"79161234567",
         "message":{{"type":"VIBER","data":{{"instantContent":{{"type":"BUTTON","data":{{
           "text":"Your order is ready","imageURL":"https://example.com/order.png",
           "caption":"Open","action":"https://example.com/order/1"}}}},
           "serviceNumber":"RCS","ttl":60,"ttlUnit":"SECONDS"}}}}}}'

  curl -s -X POST http://127.0.0.1:{s.rest_port}/api/v6/send \\
    -H 'Content-Type: application/json' \\
    -d '{{"login":"demo","password":"demo","id":"demo-4","destAddr":"{DEMO_VIBER_SILENT}",
         "message":{{"type":"VIBER","data":{{"instantContent":{{"type":"TEXT",
           "data":{{"text":"Code 1234"}}}},"serviceNumber":"RCS","ttl":30,"ttlUnit":"SECONDS"}}}},
         "cascadeChainLink":{{"state":"DELIVERED","message":{{"type":"SMS",
           "data":{{"text":"Code 1234","serviceNumber":"RCS"}}}}}}}}'

What Viber got: curl -s http://127.0.0.1:{s.viber_sim_port}/sim/messages

The same Viber → SMS cascade ready to paste, for any number ({DEMO_VIBER_SILENT}'s Viber
never confirms; another number reads it and no SMS goes):

  {viber_cascade_curl(s.rest_port, DEMO_VIBER_SILENT)}

A WhatsApp session message and a Telegram text + link (DELIVERED, then READ):

  curl -s -X POST http://127.0.0.1:{s.rest_port}/api/v6/send \\
    -H 'Content-Type: application/json' \\
    -d '{{"login":"demo","password":"demo","id":"demo-7","destAddr":"79161234567",
         "message":{{"type":"WHATSAPP","data":{{"instantContent":{{"type":"TEXT",
           "data":{{"text":"Your order is ready"}}}},"serviceNumber":"RCS"}}}}}}'

  curl -s -X POST http://127.0.0.1:{s.rest_port}/api/v6/send \\
    -H 'Content-Type: application/json' \\
    -d '{{"login":"demo","password":"demo","id":"demo-8","destAddr":"79161234567",
         "message":{{"type":"TELEGRAM","data":{{"text":"Your order is ready",
           "link":"https://example.com/order/1","serviceNumber":"RCS"}}}}}}'

What they got: curl -s http://127.0.0.1:{s.whatsapp_sim_port}/sim/messages;
  curl -s http://127.0.0.1:{s.telegram_sim_port}/sim/messages

A VK message (DELIVERED, then READ) and a flash call whose caller number ends in 4821:

  curl -s -X POST http://127.0.0.1:{s.rest_port}/api/v6/send \\
    -H 'Content-Type: application/json' \\
    -d '{{"login":"demo","password":"demo","id":"demo-5","destAddr":"79161234567",
         "message":{{"type":"VK","data":{{"text":"Your order is ready",
           "serviceNumber":"RCS","ttl":10}}}}}}'

  curl -s -X POST http://127.0.0.1:{s.rest_port}/api/v6/send \\
    -H 'Content-Type: application/json' \\
    -d '{{"login":"demo","password":"demo","id":"demo-6","destAddr":"79161234567",
         "message":{{"type":"FLASHINGCALL","data":{{"text":"4821","ttl":1}}}}}}'

What they got: curl -s http://127.0.0.1:{s.vk_sim_port}/sim/messages;
  curl -s http://127.0.0.1:{s.flashcall_sim_port}/sim/calls

Settings (administrator admin, with the password printed at the first run):
  http://127.0.0.1:{s.rest_port}/api/admin/v1/partners
Partners over SMPP 3.4: bind to 127.0.0.1:{s.smpp_port} as demo/demo.

Push (rpns, gRPC 127.0.0.1:{s.rpns_port}): application DEMO_APP with two devices on
{DEMO_PUSH_NUMBER}, served by the PNS simulator (APNs on https://127.0.0.1:{s.pns_apns_port},
FCM/HMS/RuStore on http://127.0.0.1:{s.pns_http_port}). Register another device as the SDK does:

  curl -s http://127.0.0.1:{s.rpns_sdk_port}/api/sdk/v1/installations \\
    -H 'X-Api-Key: {push_key}' -H 'Content-Type: application/json' \\
    -d '{{"platform":"ANDROID","token":"my-token","phone":"{DEMO_PUSH_NUMBER}"}}'

What the push services and devices saw: curl -s http://127.0.0.1:{s.pns_http_port}/control/stats

A mailing as a file over FTPS (explicit TLS; the certificate is self-signed, hence -k):

  printf 'name: demo-mailing\nservice_number: RCS\nauto_start: Y\n\n%s\n' \
    '79161234567;Hello from a file' > S-demo.loading
  curl -sS --ssl-reqd -k -T S-demo.loading ftp://demo:demo@127.0.0.1:{s.ftp_port}/in/ \
    -Q '-RNFR S-demo.loading' -Q '-RNTO S-demo.data'

and its result (windows-1251) once processed:

  curl -sS --ssl-reqd -k ftp://demo:demo@127.0.0.1:{s.ftp_port}/archive/S-demo.report \
    | iconv -f cp1251
""",
            flush=True,
        )
        while not stopping:
            try:
                supervisor.check()
            except CrashLoopError as err:
                print(f"rcs: {err}. Stopping everything; logs in {logs}", flush=True)
                return 1
            time.sleep(0.2)
        print("rcs: stopping …", flush=True)
        return 0
    finally:
        supervisor.stop_all()
