"""The ``rcs`` command: run components, migrate, seed, generate docs."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable

from rcs_cli import cluster_cmd, dwh_cmd, mailing_cmd, report_cmd, route_cmd, settings_cmd
from rcs_runtime.process import run_service

# "reports" is the HTTP report sender alone; "dispatcher" runs it too (RCS_REPORT_SENDERS).
COMPONENTS = (
    "core",
    "dispatcher",
    "reports",
    "routing",
    "connector",
    "simulator",
    "rest",
    "smpp",
    "rpns",
    "pns-simulator",
    "viber-simulator",
    "whatsapp-simulator",
    "telegram-simulator",
    "messengers",
    "vk-simulator",
    "flashcall-simulator",
    "cluster",
    "ftp",
    "dwh",
)


def _serve(component: str) -> None:
    # Imports are local so that each process loads only its own component.
    if component in ("core", "dispatcher", "reports"):
        from rcs_core.__main__ import serve as serve_core
        from rcs_core.config import CoreSettings

        core = CoreSettings()
        run_service(
            component,
            core,
            serve_core(
                core,
                with_api=component == "core",
                with_dispatcher=component == "dispatcher",
                with_report_senders=component != "core",
            ),
        )
    elif component == "routing":
        from rcs_routing.__main__ import serve as serve_routing
        from rcs_routing.settings import RoutingSettings

        routing = RoutingSettings()
        run_service(component, routing, serve_routing(routing))
    elif component == "connector":
        from rcs_connectors.__main__ import serve as serve_connector
        from rcs_connectors.settings import ConnectorSettings

        connector = ConnectorSettings()
        run_service(component, connector, serve_connector(connector))
    elif component == "simulator":
        from rcs_simulators.smsc.__main__ import serve as serve_simulator
        from rcs_simulators.smsc.settings import SmscSettings

        smsc = SmscSettings()
        run_service(component, smsc, serve_simulator(smsc))
    elif component == "rest":
        from gateways.rest.__main__ import serve as serve_rest
        from gateways.rest.settings import RestSettings

        rest = RestSettings()
        run_service(component, rest, serve_rest(rest))
    elif component == "cluster":
        from rcs_cluster.__main__ import serve as serve_cluster
        from rcs_cluster.settings import ClusterSettings

        cluster = ClusterSettings()
        run_service(component, cluster, serve_cluster(cluster))
    elif component == "smpp":
        from gateways.smpp.__main__ import serve as serve_smpp
        from gateways.smpp.settings import SmppGatewaySettings

        smpp = SmppGatewaySettings()
        run_service(component, smpp, serve_smpp(smpp))
    elif component == "rpns":
        from rcs_rpns.__main__ import serve as serve_rpns
        from rcs_rpns.settings import RpnsSettings

        rpns = RpnsSettings()
        run_service(component, rpns, serve_rpns(rpns))
    elif component == "pns-simulator":
        from rcs_simulators.pns.__main__ import serve as serve_pns
        from rcs_simulators.pns.settings import PnsSimSettings

        pns = PnsSimSettings()
        run_service(component, pns, serve_pns(pns))
    elif component == "viber-simulator":
        from rcs_simulators.viber.__main__ import serve as serve_viber_sim
        from rcs_simulators.viber.settings import ViberSimSettings

        viber_sim = ViberSimSettings()
        run_service(component, viber_sim, serve_viber_sim(viber_sim))
    elif component == "whatsapp-simulator":
        from rcs_simulators.whatsapp.__main__ import serve as serve_whatsapp_sim
        from rcs_simulators.whatsapp.settings import WhatsAppSimSettings

        whatsapp_sim = WhatsAppSimSettings()
        run_service(component, whatsapp_sim, serve_whatsapp_sim(whatsapp_sim))
    elif component == "telegram-simulator":
        from rcs_simulators.telegram.__main__ import serve as serve_telegram_sim
        from rcs_simulators.telegram.settings import TelegramSimSettings

        telegram_sim = TelegramSimSettings()
        run_service(component, telegram_sim, serve_telegram_sim(telegram_sim))
    elif component == "messengers":
        from rcs_messengers.__main__ import serve as serve_messengers
        from rcs_messengers.settings import MessengersSettings

        messengers = MessengersSettings()
        run_service(component, messengers, serve_messengers(messengers))
    elif component == "vk-simulator":
        from rcs_simulators.vk.__main__ import serve as serve_vk_sim
        from rcs_simulators.vk.settings import VkSimSettings

        vk_sim = VkSimSettings()
        run_service(component, vk_sim, serve_vk_sim(vk_sim))
    elif component == "flashcall-simulator":
        from rcs_simulators.flashcall.__main__ import serve as serve_flashcall_sim
        from rcs_simulators.flashcall.settings import FlashcallSimSettings

        flashcall_sim = FlashcallSimSettings()
        run_service(component, flashcall_sim, serve_flashcall_sim(flashcall_sim))
    elif component == "ftp":
        from gateways.ftp.__main__ import serve as serve_ftp
        from gateways.ftp.settings import FtpSettings

        ftp = FtpSettings()
        run_service(component, ftp, serve_ftp(ftp))
    elif component == "dwh":
        from rcs_dwh.__main__ import serve as serve_dwh
        from rcs_dwh.settings import DwhSettings

        dwh = DwhSettings()
        run_service(component, dwh, serve_dwh(dwh))


def _migrate(_: argparse.Namespace) -> None:
    from rcs_core.db.migrate import migrate
    from rcs_runtime.settings import DatabaseSettings

    s = DatabaseSettings()
    applied = asyncio.run(migrate(s.database_url, s.installation_id))
    print("applied: " + (", ".join(applied) if applied else "nothing (schema is current)"))


def _seed_demo(args: argparse.Namespace) -> None:
    import grpc

    from rcs_cli.seed import SeedSettings, seed_demo
    from rcs_runtime.grpc_client import refusal_text

    s = SeedSettings()
    try:
        push_key = asyncio.run(seed_demo(s, smsc_host=args.smsc_host, smsc_port=args.smsc_port))
    except grpc.aio.AioRpcError as err:
        sys.exit(f"refused (core {s.core_target}, rpns {s.rpns_target}): {refusal_text(err)}")
    print("demo partner 'demo' (password 'demo') routed to the SMSC simulator")
    print(f"demo push application DEMO_APP (SDK api key {push_key}) with two devices")


def _admin_user(args: argparse.Namespace) -> None:
    import getpass
    import os

    import grpc

    from rcs_cli.seed import SeedSettings, put_admin

    password = os.environ.get("RCS_ADMIN_PASSWORD") or getpass.getpass(
        f"password for {args.login}: "
    )
    s = SeedSettings()
    try:
        created = asyncio.run(put_admin(s, args.login, password))
    except grpc.aio.AioRpcError as err:  # NOT_MASTER on a standby: it names the master
        sys.exit(f"refused by core at {s.core_target}: {err.details()}")
    print(f"administrator {args.login!r} {'created' if created else 'saved'}")


def _run(_: argparse.Namespace) -> None:
    from rcs_cli.embedded import run_embedded

    sys.exit(run_embedded())


def _docs(args: argparse.Namespace) -> None:
    if args.what == "config":
        from rcs_cli.config_docs import render as render_config

        sys.stdout.write(render_config())
        return
    from rcs_cli.error_docs import render

    sys.stdout.write(render())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="rcs", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run one component in the foreground")
    serve.add_argument("component", choices=COMPONENTS)
    serve.set_defaults(func=lambda a: _serve(a.component))
    sub.add_parser("migrate", help="apply SQL migrations (RCS_DATABASE_URL)").set_defaults(
        func=_migrate
    )
    seed = sub.add_parser(
        "seed-demo", help="create the demo partner and route (RCS_CORE_TARGET, RCS_RPNS_TARGET)"
    )
    seed.add_argument("--smsc-host", default="127.0.0.1")
    seed.add_argument("--smsc-port", type=int, default=2776)
    seed.set_defaults(func=_seed_demo)
    admin = sub.add_parser(
        "admin-user",
        help="create an administrator or reset a password (RCS_ADMIN_PASSWORD, RCS_CORE_TARGET)",
    )
    admin.add_argument("login")
    admin.set_defaults(func=_admin_user)
    sub.add_parser("run", help="a whole installation on embedded PostgreSQL").set_defaults(
        func=_run
    )
    route_cmd.add_parser(sub)
    settings_cmd.add_parser(sub)
    report_cmd.add_parser(sub)
    cluster_cmd.add_parser(sub)
    mailing_cmd.add_parser(sub)
    dwh_cmd.add_parser(sub)
    docs = sub.add_parser("docs", help="generate documentation")
    docs.add_argument("what", choices=("errors", "config"))
    docs.set_defaults(func=_docs)
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], None] = args.func
    func(args)


if __name__ == "__main__":
    main()
