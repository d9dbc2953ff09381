"""Settings of the messenger service (``RCS_MESSENGERS_*``, ``RCS_VIBER_*``, core's address)."""

from __future__ import annotations

from pydantic import model_validator

from rcs_runtime.settings import RcsSettings


class MessengersSettings(RcsSettings):
    messengers_bind: str = "127.0.0.1:50056"  # ConnectorService for CHANNEL_VIBER
    # The interface core knows this service by (RCS_MESSENGERS_INTERFACE_ID in core): the
    # receipts name it, so core matches Viber's message tokens in it.
    messengers_interface_id: str = "messengers"
    core_target: str = "127.0.0.1:50051"
    # Where the provider's callbacks arrive (Viber's webhook: POST /viber/webhook).
    messengers_webhook_host: str = "127.0.0.1"
    messengers_webhook_port: int = 8091
    # Viber's API and the account's token (requests carry it; callbacks are signed with it).
    viber_api_url: str = "https://chatapi.viber.com"
    viber_auth_token: str = ""
    viber_timeout_seconds: float = 10.0
    viber_concurrency: int = 100
    # Where a subscriber's Viber message goes when it names no message it answers (no
    # tracking_data): the sender name whose inbound route takes it. Empty: such messages
    # are dropped (logged); replies to our messages go to those messages' sender.
    viber_reply_number: str = ""
    # WhatsApp Business Cloud API: graph.facebook.com/{version}, the business number's
    # phone-number id and its access token (Bearer); the app secret signs the webhook
    # (X-Hub-Signature-256) and the verify token answers its subscription handshake. No
    # access token: WhatsApp messages are refused (extended code 10).
    whatsapp_api_url: str = "https://graph.facebook.com/v21.0"
    whatsapp_phone_number_id: str = ""
    whatsapp_access_token: str = ""
    whatsapp_app_secret: str = ""
    whatsapp_verify_token: str = ""
    whatsapp_timeout_seconds: float = 10.0
    whatsapp_concurrency: int = 100
    # Telegram (the Gateway API's shape, docs/whatsapp.md): its base URL and token (Bearer;
    # reports are signed with it) and the callback_url sent with each message (this
    # service's /telegram/webhook as the provider reaches it). No token: Telegram messages
    # are refused (extended code 1).
    telegram_api_url: str = "https://gatewayapi.telegram.org"
    telegram_token: str = ""
    telegram_callback_url: str = ""
    telegram_timeout_seconds: float = 10.0
    telegram_concurrency: int = 100
    # VK (docs/vk.md): the API, the community's access token and id, and its Callback API
    # secret key and confirmation string. An empty URL: this service sends no VK.
    vk_api_url: str = ""
    vk_access_token: str = ""
    vk_group_id: int = 0
    vk_callback_secret: str = ""
    vk_confirmation: str = ""
    vk_concurrency: int = 50
    # FlashingCall (docs/flashcall.md): the voice provider's API and access key, and the
    # key its status callbacks carry. An empty URL: this service makes no flash calls.
    flashcall_api_url: str = ""
    flashcall_access_key: str = ""
    flashcall_callback_key: str = ""
    flashcall_concurrency: int = 50
    # Receipts to core: a call that fails is answered 503 to the provider, which sends the
    # callback again; this bounds the wait for core.
    messengers_core_timeout_seconds: float = 5.0
    # The provider interfaces configured as settings (`rcs settings messenger-interfaces`)
    # are read from this database's settings_read views, checked for a new settings
    # revision this often; "" (or 0 s): none are read, only the accounts above are used.
    database_url: str = ""
    messengers_interfaces_poll_seconds: float = 1.0
    # With the database: accepted answers are recorded there (a repeat of a message after a
    # restart is answered, not sent again) and deleted an hour after the message's
    # validity, checked this often.
    messengers_answers_prune_seconds: float = 600.0

    @model_validator(mode="after")
    def _check(self) -> MessengersSettings:
        if not self.viber_auth_token:
            raise ValueError(
                "RCS_VIBER_AUTH_TOKEN is required: the Viber account's token (requests carry"
                " it and its callbacks are signed with it)"
            )
        if self.whatsapp_access_token and not (
            self.whatsapp_phone_number_id and self.whatsapp_app_secret
        ):
            raise ValueError(
                "RCS_WHATSAPP_ACCESS_TOKEN needs RCS_WHATSAPP_PHONE_NUMBER_ID (the business"
                " number's id in the Cloud API) and RCS_WHATSAPP_APP_SECRET (which signs its"
                " webhook)"
            )
        if self.vk_api_url and not (self.vk_access_token and self.vk_callback_secret):
            raise ValueError(
                "RCS_VK_API_URL is set: RCS_VK_ACCESS_TOKEN (the community's token) and"
                " RCS_VK_CALLBACK_SECRET (its Callback API secret key) are required too"
            )
        if self.flashcall_api_url and not (
            self.flashcall_access_key and self.flashcall_callback_key
        ):
            raise ValueError(
                "RCS_FLASHCALL_API_URL is set: RCS_FLASHCALL_ACCESS_KEY and"
                " RCS_FLASHCALL_CALLBACK_KEY (what its callbacks carry) are required too"
            )
        return self
