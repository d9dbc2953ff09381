"""One error catalogue for every protocol edge.

Each error has a stable UPPER_SNAKE ``reason``, a gRPC status code, a ``retryable`` flag,
and its faces on the partner protocols: HTTP status, Rapporto REST error code, SMPP
command_status, Rapporto HTTP API v5 code. Gateways never invent their own mapping: they
look a reason up here.

    RcsError
     └── (instances are raised with one CatalogueEntry each)

``docs/errors.md`` is generated from ``CATALOGUE`` by ``rcs docs errors``.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    reason: str
    grpc_code: grpc.StatusCode
    retryable: bool
    http_status: int
    rest_code: int
    smpp_status: int
    summary: str
    http_v5: int  # Rapporto HTTP API v5 answer code (http_sms.rst, "Коды ошибок")


def _entry(
    reason: str,
    grpc_code: grpc.StatusCode,
    http_status: int,
    rest_code: int,
    smpp_status: int,
    summary: str,
    *,
    http_v5: int,
    retryable: bool = False,
) -> CatalogueEntry:
    return CatalogueEntry(
        reason, grpc_code, retryable, http_status, rest_code, smpp_status, summary, http_v5
    )


_C = grpc.StatusCode
CATALOGUE: dict[str, CatalogueEntry] = {
    e.reason: e
    for e in (
        _entry(
            "SERVICE_UNAVAILABLE",
            _C.UNAVAILABLE,
            503,
            1,
            0x08,
            "A backend is down; retry later.",
            retryable=True,
            http_v5=500,
        ),
        _entry(
            "IP_NOT_ALLOWED",
            _C.PERMISSION_DENIED,
            403,
            2,
            0x0D,
            "The caller's address is not in the login's allowlist.",
            http_v5=403,
        ),
        _entry(
            "THROTTLED",
            _C.RESOURCE_EXHAUSTED,
            429,
            3,
            0x58,
            "Too many requests, or too many failed logins from this address for these"
            " credentials (issue 14: a doubling delay); retry after the given delay.",
            retryable=True,
            http_v5=408,
        ),
        _entry(
            "TOO_MANY_SESSIONS",
            _C.RESOURCE_EXHAUSTED,
            429,
            3,
            0x05,
            "The login has as many SMPP sessions bound as it may (max_smpp_sessions);"
            " unbind one or bind later.",
            retryable=True,
            http_v5=408,
        ),
        _entry(
            "QUEUE_FULL",
            _C.RESOURCE_EXHAUSTED,
            503,
            1,
            0x14,
            "The installation's queue is full; retry later.",
            retryable=True,
            http_v5=500,
        ),
        _entry(
            "REQUEST_TIMEOUT",
            _C.DEADLINE_EXCEEDED,
            408,
            4,
            0x08,
            "The request's body did not arrive in time; send it whole and at once.",
            retryable=True,
            http_v5=400,
        ),
        _entry(
            "INVALID_REQUEST",
            _C.INVALID_ARGUMENT,
            400,
            4,
            0x45,
            "The request is malformed or misses a required field (e.g. a Viber button"
            " without its link, an action or imageURL of the wrong scheme, a WhatsApp text"
            " with an image, a Telegram link empty or over 256 characters).",
            http_v5=400,
        ),
        _entry(
            "INVALID_CHARSET",
            _C.INVALID_ARGUMENT,
            400,
            4,
            0x45,
            "The body does not decode with the charset declared in Content-Type.",
            http_v5=400,
        ),
        _entry("INVALID_LOGIN", _C.UNAUTHENTICATED, 401, 5, 0x0F, "Unknown login.", http_v5=403),
        _entry(
            "INVALID_PASSWORD",
            _C.UNAUTHENTICATED,
            401,
            6,
            0x0E,
            "Wrong password for the login.",
            http_v5=401,
        ),
        _entry(
            "INVALID_SENDER",
            _C.INVALID_ARGUMENT,
            400,
            7,
            0x0A,
            "serviceNumber (sender) is missing, longer than 21 characters, or not one of the"
            " login's senders (its default sender and those the administrator assigned).",
            http_v5=400,
        ),
        _entry(
            "INVALID_DESTINATION",
            _C.INVALID_ARGUMENT,
            406,
            8,
            0x0B,
            "destAddr is not a valid subscriber number.",
            http_v5=406,
        ),
        _entry(
            "INVALID_MESSAGE_TYPE",
            _C.INVALID_ARGUMENT,
            406,
            9,
            0x45,
            "The message type is unknown or not enabled for this login.",
            http_v5=400,
        ),
        _entry(
            "DUPLICATE_MESSAGE",
            _C.ALREADY_EXISTS,
            409,
            10,
            0xAB,
            "Sending duplicates is prohibited for this login.",
            http_v5=409,
        ),
        _entry(
            "REQUEST_IN_PROGRESS",
            _C.ABORTED,
            503,
            1,
            0x08,
            "A request with the same partner message id is still being processed;"
            " wait for its answer (a repeat after it gets the same id).",
            retryable=True,
            http_v5=503,
        ),
        _entry(
            "INVALID_TTL",
            _C.INVALID_ARGUMENT,
            406,
            11,
            0x62,
            "ttl is out of range for the channel (SMS 1–2880 minutes, PUSH and VIBER 30–86400"
            " seconds)"
            " or ttlUnit is unknown; WHATSAPP: 1440–10080 minutes in whole days, TELEGRAM"
            " 30–86400 seconds.",
            http_v5=400,
        ),
        _entry(
            "INVALID_TEXT",
            _C.INVALID_ARGUMENT,
            400,
            4,
            0x45,
            "The text is empty or longer than its channel allows (SMS 2000, PUSH, VIBER,"
            " WHATSAPP and TELEGRAM 1000"
            " characters; a push title 80, a Viber button caption 30), or a push link or"
            " button too long (a Viber button's action: 2048).",
            http_v5=400,
        ),
        _entry(
            "INVALID_CASCADE",
            _C.INVALID_ARGUMENT,
            400,
            4,
            0x45,
            "A cascade link is wrong: no state, READ after a message that cannot be read"
            " (SMS, FlashingCall), or more than 6 links.",
            http_v5=400,
        ),
        _entry(
            "NOT_FOUND", _C.NOT_FOUND, 404, 4, 0x67, "No such message for this login.", http_v5=400
        ),
        # rcs_rpns: the mobile SDK's endpoints and the push service's own gRPC API.
        _entry(
            "INVALID_API_KEY",
            _C.UNAUTHENTICATED,
            401,
            5,
            0x0E,
            "X-Api-Key is missing or names no application; use the apiKey PutApp returned.",
            http_v5=401,
        ),
        _entry(
            "INSTALL_NOT_FOUND",
            _C.NOT_FOUND,
            404,
            4,
            0x45,
            "No such install of this application; register it again.",
            http_v5=400,
        ),
        _entry(
            "APP_NOT_FOUND",
            _C.NOT_FOUND,
            404,
            4,
            0x45,
            "No such application; create it with AppService.PutApp.",
            http_v5=400,
        ),
        _entry(
            "PUSH_NOT_FOUND",
            _C.NOT_FOUND,
            404,
            4,
            0x45,
            "No delivery of this push to that install or token.",
            http_v5=400,
        ),
        # Mailings (rcs.core.v1.MailingService; the FTP gateway writes them in .report).
        _entry(
            "MAILING_NOT_FOUND",
            _C.NOT_FOUND,
            404,
            4,
            0x67,
            "No such mailing for this login.",
            http_v5=400,
        ),
        _entry(
            "MAILING_NAME_TAKEN",
            _C.ALREADY_EXISTS,
            409,
            4,
            0x45,
            "The login already has a mailing with this name; mailing names are unique.",
            http_v5=409,
        ),
        _entry(
            "MAILING_STATE_CONFLICT",
            _C.FAILED_PRECONDITION,
            409,
            4,
            0x45,
            "The mailing's state does not allow this (e.g. resuming one that is not paused).",
            http_v5=400,
        ),
        _entry(
            "NOT_MASTER",
            _C.FAILED_PRECONDITION,
            409,
            100,
            0x08,
            "This installation is a standby of its cluster: settings are changed on the"
            " master, which the message names (`rcs cluster status`).",
            http_v5=500,
        ),
        _entry(
            "SETTINGS_OUT_OF_SYNC",
            _C.FAILED_PRECONDITION,
            409,
            100,
            0x08,
            "The settings revisions to apply do not follow this installation's own (a gap,"
            " a master asked to apply, or a history that diverged): see the message.",
            http_v5=500,
        ),
        _entry(
            "INTERNAL",
            _C.INTERNAL,
            500,
            100,
            0x08,
            "Unexpected internal error; it is logged with its trace id.",
            retryable=True,
            http_v5=500,
        ),
        _entry(
            "DWH_UNKNOWN_CLUSTER",
            _C.NOT_FOUND,
            404,
            4,
            0x45,
            "No installation of that cluster is in the DWH's registry (RCS_DWH_INSTALLATIONS).",
            http_v5=400,
        ),
    )
}


class RcsError(Exception):
    """A catalogued error; ``reason`` selects the entry, ``message`` says what to change."""

    def __init__(
        self, reason: str, message: str = "", *, field: str = "", retry_after: float = 0.0
    ) -> None:
        """``retry_after``: seconds before a retry can succeed (a throttled login's wait),
        carried over gRPC as google.rpc.RetryInfo and to HTTP as Retry-After."""
        if reason not in CATALOGUE:
            raise KeyError(f"unknown error reason {reason!r}: add it to rcs_runtime.errors")
        self.entry = CATALOGUE[reason]
        self.reason = reason
        self.message = message or self.entry.summary
        self.field = field
        self.retry_after = retry_after
        super().__init__(f"{reason}: {self.message}")

    @property
    def retryable(self) -> bool:
        return self.entry.retryable


def entry_for_grpc(code: grpc.StatusCode, reason: str | None) -> CatalogueEntry:
    """The catalogue entry for a gRPC error seen by a client (reason from ErrorInfo)."""
    if reason and reason in CATALOGUE:
        return CATALOGUE[reason]
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return CATALOGUE["SERVICE_UNAVAILABLE"]
    return CATALOGUE["INTERNAL"]
