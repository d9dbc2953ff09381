"""Start-up of the messenger service (`rcs serve messengers`): ConnectorService for
CHANNEL_VIBER over gRPC and Viber's webhook over HTTP."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import httpx
from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from rcs.common.v1 import channel_pb2
from rcs.connector.v1 import connector_service_pb2_grpc
from rcs.core.v1 import delivery_service_pb2_grpc
from rcs_messengers import telegram_webhook
from rcs_messengers.flashcall import FlashcallCallback, FlashcallSender
from rcs_messengers.flashcall import add_routes as add_flashcall_routes
from rcs_messengers.provider_interfaces import ProviderInterface, ProviderInterfaces
from rcs_messengers.sent_answers import SentAnswers
from rcs_messengers.servicer import ViberConnectorServicer, viber_sender
from rcs_messengers.settings import MessengersSettings
from rcs_messengers.telegram import telegram_sender
from rcs_messengers.vk import VkSender
from rcs_messengers.vk_callback import VkAccount, VkCallback
from rcs_messengers.vk_callback import add_routes as add_vk_routes
from rcs_messengers.webhook import ViberWebhook, build_app
from rcs_messengers.whatsapp import media_link, whatsapp_sender
from rcs_messengers.whatsapp_webhook import WhatsAppWebhook, add_routes
from rcs_runtime.grpc_client import open_channel
from rcs_runtime.grpc_server import GrpcServer

log = logging.getLogger(__name__)


async def serve(s: MessengersSettings) -> None:
    core_channel = open_channel(s.core_target)
    http = httpx.AsyncClient(
        timeout=httpx.Timeout(s.viber_timeout_seconds),
        limits=httpx.Limits(max_connections=s.viber_concurrency),
    )
    wa_http = httpx.AsyncClient(
        timeout=httpx.Timeout(s.whatsapp_timeout_seconds),
        limits=httpx.Limits(max_connections=s.whatsapp_concurrency),
    )
    whatsapp = (
        whatsapp_sender(
            wa_http,
            s.whatsapp_api_url,
            s.whatsapp_phone_number_id,
            s.whatsapp_access_token,
            s.messengers_interface_id,
            s.whatsapp_concurrency,
        )
        if s.whatsapp_access_token
        else None
    )
    tg_http = httpx.AsyncClient(
        timeout=httpx.Timeout(s.telegram_timeout_seconds),
        limits=httpx.Limits(max_connections=s.telegram_concurrency),
    )
    telegram = (
        telegram_sender(
            tg_http,
            s.telegram_api_url,
            s.telegram_token,
            s.telegram_callback_url,
            s.messengers_interface_id,
            s.telegram_concurrency,
        )
        if s.telegram_token
        else None
    )
    server = GrpcServer(s.messengers_bind)
    servicer = ViberConnectorServicer(
        http,
        s.viber_api_url,
        s.viber_auth_token,
        s.messengers_interface_id,
        s.viber_concurrency,
        whatsapp,
        telegram,
    )
    connector_service_pb2_grpc.add_ConnectorServiceServicer_to_server(servicer, server.server)
    webhook = ViberWebhook(
        delivery_service_pb2_grpc.DeliveryServiceStub(core_channel),
        s.viber_auth_token,
        s.messengers_interface_id,
        s.messengers_core_timeout_seconds,
        s.viber_reply_number,
    )
    app = build_app(webhook)
    core = delivery_service_pb2_grpc.DeliveryServiceStub(core_channel)
    wa_webhook = WhatsAppWebhook(
        core,
        s.whatsapp_app_secret,
        s.whatsapp_verify_token,
        s.messengers_interface_id,
        s.messengers_core_timeout_seconds,
        media_link(wa_http, s.whatsapp_api_url, s.whatsapp_access_token),
    )
    add_routes(app, wa_webhook)
    tg_webhook = telegram_webhook.TelegramWebhook(
        core, s.telegram_token, s.messengers_interface_id, s.messengers_core_timeout_seconds
    )
    telegram_webhook.add_routes(app, tg_webhook)

    vk, fc = _add_vk_and_flashcall(s, http, core, servicer, app)

    def signing(rows: list[ProviderInterface]) -> None:
        """The configured accounts' callbacks are taken as the environment's are."""

        def of(channel: int) -> list[ProviderInterface]:
            return [r for r in rows if r.channel == channel]

        webhook.tokens = {r.token for r in of(channel_pb2.CHANNEL_VIBER)}
        wa_webhook.secrets = {r.webhook_secret for r in of(channel_pb2.CHANNEL_WHATSAPP)}
        tg_webhook.tokens = {r.token for r in of(channel_pb2.CHANNEL_TELEGRAM)}
        wa_webhook.verify_tokens = {r.webhook_verify for r in of(channel_pb2.CHANNEL_WHATSAPP)}
        _own_callbacks(rows, vk, fc)

    sync = _provider_interfaces(s, http, servicer, signing)
    pool, pruning = await _sent_answers(s, servicer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, s.messengers_webhook_host, s.messengers_webhook_port).start()
    await server.start()
    log.info(
        "messengers_serving",
        extra={"bind": s.messengers_bind, "webhook": s.messengers_webhook_port},
    )
    try:
        await server.until_terminated()
    finally:
        if sync is not None:
            sync.cancel()
        if pruning is not None:
            pruning.cancel()
        await server.stop()
        await runner.cleanup()
        await http.aclose()
        await wa_http.aclose()
        await tg_http.aclose()
        await core_channel.close()
        if servicer.answers is not None:
            await servicer.answers.close()
        if pool is not None:
            await pool.close()


def _provider_interfaces(
    s: MessengersSettings,
    http: httpx.AsyncClient,
    servicer: ViberConnectorServicer,
    signing: Callable[[list[ProviderInterface]], None],
) -> asyncio.Task[None] | None:
    """The provider interfaces configured as settings, kept in step with the revision."""
    if not s.database_url or s.messengers_interfaces_poll_seconds <= 0:
        return None
    interfaces = ProviderInterfaces(
        http,
        s.messengers_interface_id,
        s.viber_concurrency,
        s.telegram_callback_url,
        lambda url, token, iid: viber_sender(http, url, token, iid, s.viber_concurrency).send,
        signing,
    )
    servicer.interfaces = interfaces
    every = s.messengers_interfaces_poll_seconds
    return asyncio.create_task(interfaces.keep_synced(s.database_url, every))


def _own_callbacks(rows: list[ProviderInterface], vk: VkCallback, fc: FlashcallCallback) -> None:
    """The VK and FlashingCall interfaces' accounts, whose callbacks are each checked with
    the account's secret and recorded under the interface's id."""
    vk_rows = [r for r in rows if r.channel == channel_pb2.CHANNEL_VK and r.account.isdigit()]
    accounts = {r.id: VkAccount(r.id, r.webhook_secret, r.webhook_verify) for r in vk_rows}
    vk.by_interface = accounts
    vk.by_group = {int(r.account): accounts[r.id] for r in vk_rows}
    fc.keys = {r.id: r.webhook_secret for r in rows if r.channel == channel_pb2.CHANNEL_FLASH_CALL}


async def _sent_answers(
    s: MessengersSettings, servicer: ViberConnectorServicer
) -> tuple[AsyncConnectionPool | None, asyncio.Task[None] | None]:
    """Accepted answers recorded in the database, when there is one (its pool opens in the
    background: a database that is away does not keep the service from sending)."""
    if not s.database_url:
        return None, None
    pool = AsyncConnectionPool(
        s.database_url, min_size=1, max_size=4, open=False, timeout=30, reconnect_timeout=10
    )
    await pool.open(wait=False)
    answers = SentAnswers(pool)
    servicer.answers = answers
    return pool, asyncio.create_task(answers.keep_pruned(s.messengers_answers_prune_seconds))


def _add_vk_and_flashcall(
    s: MessengersSettings,
    http: httpx.AsyncClient,
    core: delivery_service_pb2_grpc.DeliveryServiceAsyncStub,
    servicer: ViberConnectorServicer,
    app: web.Application,
) -> tuple[VkCallback, FlashcallCallback]:
    """VK and FlashingCall: a sender for the ConnectorService, each when the environment's
    account is configured, and their callback routes on the webhook server (which take
    the provider interfaces' callbacks too)."""
    interface, timeout = s.messengers_interface_id, s.messengers_core_timeout_seconds
    if s.vk_api_url:
        servicer.others[channel_pb2.CHANNEL_VK] = VkSender(
            http, s.vk_api_url, s.vk_access_token, s.vk_group_id, interface, s.vk_concurrency
        )
    if s.flashcall_api_url:
        servicer.others[channel_pb2.CHANNEL_FLASH_CALL] = FlashcallSender(
            http, s.flashcall_api_url, s.flashcall_access_key, interface, s.flashcall_concurrency
        )
    # The routes are there without the environment's account too (an empty secret or key
    # matches no callback): the provider interfaces' callbacks come to them.
    account = VkAccount(interface, s.vk_callback_secret, s.vk_confirmation)
    vk = VkCallback(core, s.vk_group_id, account, timeout)
    add_vk_routes(app, vk)
    fc = FlashcallCallback(core, s.flashcall_callback_key, interface, timeout)
    add_flashcall_routes(app, fc)
    return vk, fc
