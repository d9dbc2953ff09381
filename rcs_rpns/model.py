"""Pure domain of the push service: installs, their validation, and which installs a push
goes to (F34), with the extended codes of rest_status.rst's push table when none does."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum


class Platform(IntEnum):
    """rcs.rpns.v1.Platform; the values are stored."""

    IOS = 1
    ANDROID = 2
    HUAWEI = 3
    RUSTORE = 4


class Provider(StrEnum):
    APNS = "APNS"
    FCM = "FCM"
    HMS = "HMS"
    RUSTORE = "RUSTORE"


PROVIDER_OF = {
    Platform.IOS: Provider.APNS,
    Platform.ANDROID: Provider.FCM,
    Platform.HUAWEI: Provider.HMS,
    Platform.RUSTORE: Provider.RUSTORE,
}


class Code(IntEnum):
    """Rapporto's extended codes for push (rest_status.rst, "Push" tab)."""

    UNKNOWN = 1
    BAD_PARAMS = 18
    CONSUMER_ID_NOT_FOUND = 19
    CONSUMER_PHONE_NOT_FOUND = 20
    NO_PRIMARY_DEVICES = 21
    NO_ACTIVE_INSTALLATIONS = 22
    PUSH_DISABLED = 23
    PUSH_OS_DISABLED = 24
    SUBSCRIPTION_FAILED = 25
    NO_APPLICATION = 26  # also: the push service says the app is gone from the device
    BELOW_MIN_VERSION = 27
    PROVIDER_ERROR = 28


class DeliveryState(IntEnum):
    """rpns_deliveries.state."""

    QUEUED = 0
    SENT = 1
    DELIVERED = 2
    OPENED = 3
    FAILED = 4


MAX_TOKEN = 4096
MAX_USER_ID = 128
MAX_SUBSCRIPTIONS = 50
MAX_SUBSCRIPTION = 64
_PHONE = re.compile(r"\+?[0-9]{10,15}")
_VERSION = re.compile(r"[0-9A-Za-z.+\-]{0,32}")
_APNS_TOKEN = re.compile(r"(?:[0-9a-fA-F]{2}){32,100}")


class InvalidInstallError(ValueError):
    """A registration the SDK got wrong: ``field`` names it, the message says what to send."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True, slots=True)
class InstallFields:
    platform: Platform
    token: str
    phone: str | None
    external_user_id: str | None
    subscriptions: tuple[str, ...] = ()
    push_enabled: bool = True
    os_push_enabled: bool = True
    app_version: str = ""
    primary: bool = False


def validated(
    *,
    platform: int,
    token: str,
    phone: str,
    external_user_id: str,
    subscriptions: Sequence[str],
    push_enabled: bool,
    os_push_enabled: bool,
    app_version: str,
    primary: bool,
) -> InstallFields:
    """The install as stored, or InvalidInstallError naming the first wrong field."""
    try:
        plat = Platform(platform)
    except ValueError:
        raise InvalidInstallError(
            "platform", "platform must be one of IOS, ANDROID, HUAWEI, RUSTORE"
        ) from None
    token = token.strip()
    if not token:
        raise InvalidInstallError("token", "token is required: the push service's device token")
    if len(token) > MAX_TOKEN or any(c.isspace() for c in token):
        raise InvalidInstallError(
            "token", f"token must be at most {MAX_TOKEN} characters, no spaces"
        )
    if plat is Platform.IOS and not _APNS_TOKEN.fullmatch(token):
        raise InvalidInstallError("token", "an APNs device token is 64 to 200 hexadecimal digits")
    phone = phone.strip()
    if phone and not _PHONE.fullmatch(phone):
        raise InvalidInstallError("phone", "phone must be 10 to 15 digits, international format")
    user = external_user_id.strip()
    if len(user) > MAX_USER_ID:
        raise InvalidInstallError(
            "externalUserId", f"externalUserId must be at most {MAX_USER_ID} characters"
        )
    if not phone and not user:
        raise InvalidInstallError(
            "phone", "give phone, externalUserId or both: whom the install is"
        )
    if len(subscriptions) > MAX_SUBSCRIPTIONS:
        raise InvalidInstallError("subscriptions", f"at most {MAX_SUBSCRIPTIONS} subscriptions")
    for s in subscriptions:
        if not s or len(s) > MAX_SUBSCRIPTION:
            raise InvalidInstallError(
                "subscriptions", f"each subscription is 1 to {MAX_SUBSCRIPTION} characters"
            )
    if not _VERSION.fullmatch(app_version):
        raise InvalidInstallError(
            "appVersion", "appVersion is up to 32 letters, digits, '.', '+' or '-'"
        )
    return InstallFields(
        platform=plat,
        token=token,
        phone=phone.lstrip("+") or None,
        external_user_id=user or None,
        subscriptions=tuple(dict.fromkeys(subscriptions)),
        push_enabled=push_enabled,
        os_push_enabled=os_push_enabled,
        app_version=app_version,
        primary=primary,
    )


@dataclass(frozen=True, slots=True)
class Candidate:
    """An install of the push's user or number, as the fan-out sees it."""

    install_id: str
    platform: Platform
    active: bool
    primary: bool
    push_enabled: bool
    os_push_enabled: bool
    subscriptions: tuple[str, ...]
    app_version: str


@dataclass(frozen=True, slots=True)
class Selection:
    targets: list[Candidate] = field(default_factory=list)
    code: Code | None = None  # why nobody gets it, when targets is empty
    detail: str = ""


def version_key(version: str) -> tuple[int, ...]:
    """ "2.10.1" > "2.9": numeric parts compared as numbers; others count as 0."""
    return tuple(int(p) if p.isdigit() else 0 for p in re.split(r"[.+\-]", version) if p)


def select_targets(
    installs: Iterable[Candidate],
    *,
    by_user: bool,
    primary_only: bool,
    subscription: str,
    providers: Sequence[str],
    min_version: str,
) -> Selection:
    """Every active install that may show the push, or only the primary one (primaryOn).

    Each filter that leaves nobody names its own code, in the order a support desk would
    ask: is there an install at all, an active one, the primary, allowed by the user, by
    the OS, subscribed, recent enough."""
    found = list(installs)
    if not found:
        if by_user:
            return Selection(code=Code.CONSUMER_ID_NOT_FOUND, detail="no install of the user")
        return Selection(code=Code.CONSUMER_PHONE_NOT_FOUND, detail="no install of the number")
    current = [c for c in found if c.active]
    if not current:
        return Selection(code=Code.NO_ACTIVE_INSTALLATIONS, detail="no active install")
    if providers:
        wanted = {p.upper() for p in providers}
        current = [c for c in current if PROVIDER_OF[c.platform].value in wanted]
        if not current:
            return Selection(
                code=Code.NO_ACTIVE_INSTALLATIONS, detail="no active install on those providers"
            )
    if primary_only:
        current = [c for c in current if c.primary]
        if not current:
            return Selection(code=Code.NO_PRIMARY_DEVICES, detail="no primary install")
    current = [c for c in current if c.push_enabled]
    if not current:
        return Selection(code=Code.PUSH_DISABLED, detail="pushes turned off in the app")
    current = [c for c in current if c.os_push_enabled]
    if not current:
        return Selection(code=Code.PUSH_OS_DISABLED, detail="notifications off in the OS")
    if subscription:
        current = [c for c in current if subscription in c.subscriptions]
        if not current:
            return Selection(code=Code.SUBSCRIPTION_FAILED, detail="not subscribed")
    if min_version:
        floor = version_key(min_version)
        current = [c for c in current if version_key(c.app_version) >= floor]
        if not current:
            return Selection(code=Code.BELOW_MIN_VERSION, detail=f"app below {min_version}")
    return Selection(targets=current)
