"""One error catalogue for every protocol edge.

Each error has a stable UPPER_SNAKE ``reason`` (a member of ``Reason``: a typo fails in mypy),
a gRPC status code, a ``retryable`` flag that clients read to decide a retry, and its faces on
the partner protocols: HTTP status, Rapporto REST error code, SMPP command_status, Rapporto
HTTP API v5 code, REST_BATCH v3 reason key, and the command_status we answer an operator's
deliver_sm with when core refused what it carried. Gateways never invent their own mapping:
they look a reason up here. This module imports no grpc: ``rcs_runtime.grpc_errors`` holds
the one gRPC mapping.

    RcsError
     └── (instances are raised with one Reason, hence one CatalogueEntry each)

``docs/errors.md`` is generated from ``CATALOGUE`` by ``rcs docs errors``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Reason(StrEnum):
    """A catalogued refusal; the value is the wire string (gRPC ErrorInfo.reason, docs)."""

    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    IP_NOT_ALLOWED = "IP_NOT_ALLOWED"
    THROTTLED = "THROTTLED"
    TOO_MANY_SESSIONS = "TOO_MANY_SESSIONS"
    QUEUE_FULL = "QUEUE_FULL"
    REQUEST_TIMEOUT = "REQUEST_TIMEOUT"
    INVALID_REQUEST = "INVALID_REQUEST"
    INVALID_CHARSET = "INVALID_CHARSET"
    INVALID_LOGIN = "INVALID_LOGIN"
    INVALID_PASSWORD = "INVALID_PASSWORD"  # noqa: S105 (a reason, not a password)
    INVALID_SENDER = "INVALID_SENDER"
    INVALID_DESTINATION = "INVALID_DESTINATION"
    INVALID_MESSAGE_TYPE = "INVALID_MESSAGE_TYPE"
    DUPLICATE_MESSAGE = "DUPLICATE_MESSAGE"
    REQUEST_IN_PROGRESS = "REQUEST_IN_PROGRESS"
    INVALID_TTL = "INVALID_TTL"
    INVALID_TEXT = "INVALID_TEXT"
    INVALID_CASCADE = "INVALID_CASCADE"
    NOT_FOUND = "NOT_FOUND"
    INVALID_API_KEY = "INVALID_API_KEY"
    INSTALL_NOT_FOUND = "INSTALL_NOT_FOUND"
    APP_NOT_FOUND = "APP_NOT_FOUND"
    PUSH_NOT_FOUND = "PUSH_NOT_FOUND"
    MAILING_NOT_FOUND = "MAILING_NOT_FOUND"
    MAILING_NAME_TAKEN = "MAILING_NAME_TAKEN"
    MAILING_STATE_CONFLICT = "MAILING_STATE_CONFLICT"
    NOT_MASTER = "NOT_MASTER"
    SETTINGS_OUT_OF_SYNC = "SETTINGS_OUT_OF_SYNC"
    INTERNAL = "INTERNAL"
    DWH_UNKNOWN_CLUSTER = "DWH_UNKNOWN_CLUSTER"


class GrpcCode(StrEnum):
    """The gRPC status code of an entry, by name; `rcs_runtime.grpc_errors` maps it to
    grpc.StatusCode (this module stays free of grpc, for pure domain code)."""

    ABORTED = "ABORTED"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
    FAILED_PRECONDITION = "FAILED_PRECONDITION"
    INTERNAL = "INTERNAL"
    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    NOT_FOUND = "NOT_FOUND"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    RESOURCE_EXHAUSTED = "RESOURCE_EXHAUSTED"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    UNAVAILABLE = "UNAVAILABLE"


# deliver_sm answers (SMPP 3.4 5.1.3): ESME_RX_T_APPN, "temporary, deliver it again later",
# and ESME_RX_P_APPN, "permanent, do not": which one follows the entry's retryable.
DELIVER_SM_LATER = 0x64
DELIVER_SM_NEVER = 0x65


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    reason: Reason
    grpc_code: GrpcCode
    retryable: bool
    http_status: int
    rest_code: int
    smpp_status: int
    summary: str
    http_v5: int  # Rapporto HTTP API v5 answer code (http_sms.rst, "Коды ошибок")
    # REST_BATCH v3 (rest_batch_sms.rst): a refused message's reason key, and the message
    # field its ref names ("" for the message itself: "messages[i]").
    batch_key: str
    batch_field: str
    # The command_status our connector answers an operator's deliver_sm (receipt or MO) with
    # when core did not store it for this reason: 0x64 the operator redelivers, 0x65 not.
    deliver_sm: int


def _entry(
    reason: Reason,
    grpc_code: GrpcCode,
    http_status: int,
    rest_code: int,
    smpp_status: int,
    summary: str,
    *,
    http_v5: int,
    batch: tuple[str, str],
    deliver_sm: int,
    retryable: bool = False,
) -> CatalogueEntry:
    return CatalogueEntry(
        reason,
        grpc_code,
        retryable,
        http_status,
        rest_code,
        smpp_status,
        summary,
        http_v5,
        batch[0],
        batch[1],
        deliver_sm,
    )


CATALOGUE: dict[Reason, CatalogueEntry] = {
    e.reason: e
    for e in (
        _entry(
            Reason.SERVICE_UNAVAILABLE,
            GrpcCode.UNAVAILABLE,
            503,
            1,
            0x08,
            "A backend is down; retry later.",
            retryable=True,
            http_v5=500,
            batch=("unknown", ""),
            deliver_sm=DELIVER_SM_LATER,
        ),
        _entry(
            Reason.IP_NOT_ALLOWED,
            GrpcCode.PERMISSION_DENIED,
            403,
            2,
            0x0D,
            "The caller's address is not in the login's allowlist.",
            http_v5=403,
            batch=("unknown", ""),
            deliver_sm=DELIVER_SM_NEVER,
        ),
        _entry(
            Reason.THROTTLED,
            GrpcCode.RESOURCE_EXHAUSTED,
            429,
            3,
            0x58,
            "Too many requests, or too many failed logins from this address for these"
            " credentials (issue 14: a doubling delay); retry after the given delay.",
            retryable=True,
            http_v5=408,
            batch=("unknown", ""),
            deliver_sm=DELIVER_SM_LATER,
        ),
        _entry(
            Reason.TOO_MANY_SESSIONS,
            GrpcCode.RESOURCE_EXHAUSTED,
            429,
            3,
            0x05,
            "The login has as many SMPP sessions bound as it may (max_smpp_sessions);"
            " unbind one or bind later.",
            retryable=True,
            http_v5=408,
            batch=("unknown", ""),
            deliver_sm=DELIVER_SM_LATER,
        ),
        _entry(
            Reason.QUEUE_FULL,
            GrpcCode.RESOURCE_EXHAUSTED,
            503,
            1,
            0x14,
            "The installation's queue is full; retry later.",
            retryable=True,
            http_v5=500,
            batch=("unknown", ""),
            deliver_sm=DELIVER_SM_LATER,
        ),
        _entry(
            Reason.REQUEST_TIMEOUT,
            GrpcCode.DEADLINE_EXCEEDED,
            408,
            4,
            0x08,
            "The request's body did not arrive in time; send it whole and at once.",
            retryable=True,
            http_v5=400,
            batch=("unknown", ""),
            deliver_sm=DELIVER_SM_LATER,
        ),
        _entry(
            Reason.INVALID_REQUEST,
            GrpcCode.INVALID_ARGUMENT,
            400,
            4,
            0x45,
            "The request is malformed or misses a required field (e.g. a Viber button"
            " without its link, an action or imageURL of the wrong scheme, a WhatsApp text"
            " with an image, a Telegram link empty or over 256 characters).",
            http_v5=400,
            batch=("unknown", ""),
            deliver_sm=DELIVER_SM_NEVER,
        ),
        _entry(
            Reason.INVALID_CHARSET,
            GrpcCode.INVALID_ARGUMENT,
            400,
            4,
            0x45,
            "The body does not decode with the charset declared in Content-Type.",
            http_v5=400,
            batch=("unknown", ""),
            deliver_sm=DELIVER_SM_NEVER,
        ),
        _entry(
            Reason.INVALID_LOGIN,
            GrpcCode.UNAUTHENTICATED,
            401,
            5,
            0x0F,
            "Unknown login.",
            http_v5=403,
            batch=("unknown", ""),
            deliver_sm=DELIVER_SM_NEVER,
        ),
        _entry(
            Reason.INVALID_PASSWORD,
            GrpcCode.UNAUTHENTICATED,
            401,
            6,
            0x0E,
            "Wrong password for the login.",
            http_v5=401,
            batch=("unknown", ""),
            deliver_sm=DELIVER_SM_NEVER,
        ),
        _entry(
            Reason.INVALID_SENDER,
            GrpcCode.INVALID_ARGUMENT,
            400,
            7,
            0x0A,
            "serviceNumber (sender) is missing, longer than 21 characters, or not one of the"
            " login's senders (its default sender and those the administrator assigned).",
            http_v5=400,
            batch=("not.available", "from"),
            deliver_sm=DELIVER_SM_NEVER,
        ),
        _entry(
            Reason.INVALID_DESTINATION,
            GrpcCode.INVALID_ARGUMENT,
            406,
            8,
            0x0B,
            "destAddr is not a valid subscriber number.",
            http_v5=406,
            batch=("invalid", "to"),
            deliver_sm=DELIVER_SM_NEVER,
        ),
        _entry(
            Reason.INVALID_MESSAGE_TYPE,
            GrpcCode.INVALID_ARGUMENT,
            406,
            9,
            0x45,
            "The message type is unknown or not enabled for this login.",
            http_v5=400,
            batch=("forbidden", ""),
            deliver_sm=DELIVER_SM_NEVER,
        ),
        _entry(
            Reason.DUPLICATE_MESSAGE,
            GrpcCode.ALREADY_EXISTS,
            409,
            10,
            0xAB,
            "Sending duplicates is prohibited for this login.",
            http_v5=409,
            batch=("forbidden", ""),
            deliver_sm=DELIVER_SM_NEVER,
        ),
        _entry(
            Reason.REQUEST_IN_PROGRESS,
            GrpcCode.ABORTED,
            503,
            1,
            0x08,
            "A request with the same partner message id is still being processed;"
            " wait for its answer (a repeat after it gets the same id).",
            retryable=True,
            http_v5=503,
            batch=("unknown", ""),
            deliver_sm=DELIVER_SM_LATER,
        ),
        _entry(
            Reason.INVALID_TTL,
            GrpcCode.INVALID_ARGUMENT,
            406,
            11,
            0x62,
            "ttl is out of range for the channel (SMS 1–2880 minutes, PUSH and VIBER 30–86400"
            " seconds)"
            " or ttlUnit is unknown; WHATSAPP: 1440–10080 minutes in whole days, TELEGRAM"
            " 30–86400 seconds, VK 60–86400 seconds, FLASHINGCALL 1–5 minutes.",
            http_v5=400,
            batch=("invalid", "validity"),
            deliver_sm=DELIVER_SM_NEVER,
        ),
        _entry(
            Reason.INVALID_TEXT,
            GrpcCode.INVALID_ARGUMENT,
            400,
            4,
            0x45,
            "The text is empty or longer than its channel allows (SMS 2000, PUSH, VIBER,"
            " WHATSAPP and TELEGRAM 1000"
            " characters; a push title 80, a Viber button caption 30), or a push link or"
            " button too long (a Viber button's action: 2048); VK 2048 (2000 in REST v6);"
            " a FlashingCall text without exactly one 4–6 digit code (the caller number's end).",
            http_v5=400,
            batch=("invalid", "text"),
            deliver_sm=DELIVER_SM_NEVER,
        ),
        _entry(
            Reason.INVALID_CASCADE,
            GrpcCode.INVALID_ARGUMENT,
            400,
            4,
            0x45,
            "A cascade link is wrong: no state, READ after a message that cannot be read"
            " (SMS, FlashingCall), or more than 6 links.",
            http_v5=400,
            batch=("unknown", ""),
            deliver_sm=DELIVER_SM_NEVER,
        ),
        _entry(
            Reason.NOT_FOUND,
            GrpcCode.NOT_FOUND,
            404,
            4,
            0x67,
            "No such message for this login.",
            http_v5=400,
            batch=("unknown", ""),
            deliver_sm=DELIVER_SM_NEVER,
        ),
        # rcs_rpns: the mobile SDK's endpoints and the push service's own gRPC API.
        _entry(
            Reason.INVALID_API_KEY,
            GrpcCode.UNAUTHENTICATED,
            401,
            5,
            0x0E,
            "X-Api-Key is missing or names no application; use the apiKey PutApp returned.",
            http_v5=401,
            batch=("unknown", ""),
            deliver_sm=DELIVER_SM_NEVER,
        ),
        _entry(
            Reason.INSTALL_NOT_FOUND,
            GrpcCode.NOT_FOUND,
            404,
            4,
            0x45,
            "No such install of this application; register it again.",
            http_v5=400,
            batch=("unknown", ""),
            deliver_sm=DELIVER_SM_NEVER,
        ),
        _entry(
            Reason.APP_NOT_FOUND,
            GrpcCode.NOT_FOUND,
            404,
            4,
            0x45,
            "No such application; create it with AppService.PutApp.",
            http_v5=400,
            batch=("unknown", ""),
            deliver_sm=DELIVER_SM_NEVER,
        ),
        _entry(
            Reason.PUSH_NOT_FOUND,
            GrpcCode.NOT_FOUND,
            404,
            4,
            0x45,
            "No delivery of this push to that install or token.",
            http_v5=400,
            batch=("unknown", ""),
            deliver_sm=DELIVER_SM_NEVER,
        ),
        # Mailings (rcs.core.v1.MailingService; the FTP gateway writes them in .report).
        _entry(
            Reason.MAILING_NOT_FOUND,
            GrpcCode.NOT_FOUND,
            404,
            4,
            0x67,
            "No such mailing for this login.",
            http_v5=400,
            batch=("unknown", ""),
            deliver_sm=DELIVER_SM_NEVER,
        ),
        _entry(
            Reason.MAILING_NAME_TAKEN,
            GrpcCode.ALREADY_EXISTS,
            409,
            4,
            0x45,
            "The login already has a mailing with this name; mailing names are unique.",
            http_v5=409,
            batch=("unknown", ""),
            deliver_sm=DELIVER_SM_NEVER,
        ),
        _entry(
            Reason.MAILING_STATE_CONFLICT,
            GrpcCode.FAILED_PRECONDITION,
            409,
            4,
            0x45,
            "The mailing's state does not allow this (e.g. resuming one that is not paused).",
            http_v5=400,
            batch=("unknown", ""),
            deliver_sm=DELIVER_SM_NEVER,
        ),
        _entry(
            Reason.NOT_MASTER,
            GrpcCode.FAILED_PRECONDITION,
            409,
            100,
            0x08,
            "This installation is a standby of its cluster: settings are changed on the"
            " master, which the message names (`rcs cluster status`).",
            http_v5=500,
            batch=("unknown", ""),
            deliver_sm=DELIVER_SM_NEVER,
        ),
        _entry(
            Reason.SETTINGS_OUT_OF_SYNC,
            GrpcCode.FAILED_PRECONDITION,
            409,
            100,
            0x08,
            "The settings revisions to apply do not follow this installation's own (a gap,"
            " a master asked to apply, or a history that diverged): see the message.",
            http_v5=500,
            batch=("unknown", ""),
            deliver_sm=DELIVER_SM_NEVER,
        ),
        _entry(
            Reason.INTERNAL,
            GrpcCode.INTERNAL,
            500,
            100,
            0x08,
            "Unexpected internal error; it is logged with its trace id.",
            retryable=True,
            http_v5=500,
            batch=("unknown", ""),
            deliver_sm=DELIVER_SM_LATER,
        ),
        _entry(
            Reason.DWH_UNKNOWN_CLUSTER,
            GrpcCode.NOT_FOUND,
            404,
            4,
            0x45,
            "No installation of that cluster is in the DWH's registry (RCS_DWH_INSTALLATIONS).",
            http_v5=400,
            batch=("unknown", ""),
            deliver_sm=DELIVER_SM_NEVER,
        ),
    )
}


class RcsError(Exception):
    """A catalogued error; ``reason`` selects the entry, ``message`` says what to change."""

    def __init__(
        self, reason: Reason, message: str = "", *, field: str = "", retry_after: float = 0.0
    ) -> None:
        """``retry_after``: seconds before a retry can succeed (a throttled login's wait),
        carried over gRPC as google.rpc.RetryInfo and to HTTP as Retry-After."""
        if reason not in CATALOGUE:
            raise KeyError(f"unknown error reason {reason!r}: add it to rcs_runtime.errors")
        self.entry = CATALOGUE[reason]
        self.reason = self.entry.reason  # a Reason even if an untyped caller gave a str
        self.message = message or self.entry.summary
        self.field = field
        self.retry_after = retry_after
        super().__init__(f"{reason}: {self.message}")

    @property
    def retryable(self) -> bool:
        return self.entry.retryable


def reason_of(wire: str | None) -> Reason | None:
    """The catalogued reason a peer sent as a string (gRPC ErrorInfo, a batch item's
    ``error``), or None when it is not one of ours (an older or newer peer)."""
    try:
        return Reason(wire) if wire else None
    except ValueError:
        return None
