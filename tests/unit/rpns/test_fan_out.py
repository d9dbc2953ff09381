"""Who a push goes to (F34) and the code when nobody can get it; install validation."""

from __future__ import annotations

import pytest

from rcs_rpns.model import (
    Candidate,
    Code,
    InvalidInstallError,
    Platform,
    select_targets,
    validated,
    version_key,
)


def _c(n: str, **kw: object) -> Candidate:
    fields: dict[str, object] = {
        "install_id": n,
        "platform": Platform.ANDROID,
        "active": True,
        "primary": False,
        "push_enabled": True,
        "os_push_enabled": True,
        "subscriptions": (),
        "app_version": "",
    }
    fields.update(kw)
    return Candidate(**fields)  # type: ignore[arg-type]


def _select(found: list[Candidate], **kw: object) -> tuple[list[str], Code | None]:
    args: dict[str, object] = {
        "by_user": False,
        "primary_only": False,
        "subscription": "",
        "providers": (),
        "min_version": "",
    }
    args.update(kw)
    s = select_targets(found, **args)  # type: ignore[arg-type]
    return [t.install_id for t in s.targets], s.code


def test_every_active_install_or_only_the_primary() -> None:
    found = [_c("a"), _c("b", primary=True), _c("c", active=False)]
    assert _select(found) == (["a", "b"], None)
    assert _select(found, primary_only=True) == (["b"], None)


@pytest.mark.parametrize(
    ("found", "kw", "code"),
    [
        ([], {}, Code.CONSUMER_PHONE_NOT_FOUND),
        ([], {"by_user": True}, Code.CONSUMER_ID_NOT_FOUND),
        ([_c("a", active=False)], {}, Code.NO_ACTIVE_INSTALLATIONS),
        ([_c("a")], {"providers": ["APNS"]}, Code.NO_ACTIVE_INSTALLATIONS),
        ([_c("a")], {"primary_only": True}, Code.NO_PRIMARY_DEVICES),
        ([_c("a", push_enabled=False)], {}, Code.PUSH_DISABLED),
        ([_c("a", os_push_enabled=False)], {}, Code.PUSH_OS_DISABLED),
        ([_c("a", subscriptions=("news",))], {"subscription": "sales"}, Code.SUBSCRIPTION_FAILED),
        ([_c("a", app_version="2.9.9")], {"min_version": "2.10"}, Code.BELOW_MIN_VERSION),
    ],
)
def test_nobody_left_names_why(found: list[Candidate], kw: dict[str, object], code: Code) -> None:
    assert _select(found, **kw) == ([], code)


def test_versions_compare_as_numbers() -> None:
    assert version_key("2.10.1") > version_key("2.9")
    assert version_key("3.0-beta") >= version_key("3.0")


def test_a_registration_is_normalised_and_checked() -> None:
    ok = validated(
        platform=1,
        token="AB" * 32,
        phone="+79161234567",
        external_user_id=" u-1 ",
        subscriptions=["news", "news"],
        push_enabled=True,
        os_push_enabled=False,
        app_version="1.2.3",
        primary=True,
    )
    assert (ok.platform, ok.phone, ok.external_user_id, ok.subscriptions) == (
        Platform.IOS,
        "79161234567",
        "u-1",
        ("news",),
    )
    with pytest.raises(InvalidInstallError) as err:
        validated(
            platform=0,
            token="t",
            phone="79161234567",
            external_user_id="",
            subscriptions=[],
            push_enabled=True,
            os_push_enabled=True,
            app_version="",
            primary=False,
        )
    assert err.value.field == "platform"
