"""Install operations shared by the gRPC DeviceService and the SDK's REST endpoints, and
the conversions of an install to each."""

from __future__ import annotations

from typing import Any

from google.protobuf import timestamp_pb2

from rcs.rpns.v1 import device_service_pb2 as ds
from rcs_rpns.model import InstallFields, Platform, validated
from rcs_rpns.storage.installs import Install


def fields_from_proto(f: ds.InstallFields) -> InstallFields:
    return validated(
        platform=f.platform,
        token=f.token,
        phone=f.phone,
        external_user_id=f.external_user_id,
        subscriptions=list(f.subscriptions),
        push_enabled=f.push_enabled,
        os_push_enabled=f.os_push_enabled,
        app_version=f.app_version,
        primary=f.primary,
    )


def install_proto(i: Install) -> ds.Install:
    f = i.fields
    seen, created = timestamp_pb2.Timestamp(), timestamp_pb2.Timestamp()
    seen.FromDatetime(i.last_seen_at)
    created.FromDatetime(i.created_at)
    return ds.Install(
        install_id=i.id,
        app_id=str(i.app_id),
        fields=ds.InstallFields(
            platform=int(f.platform),  # type: ignore[arg-type]
            token=f.token,
            phone=f.phone or "",
            external_user_id=f.external_user_id or "",
            subscriptions=list(f.subscriptions),
            push_enabled=f.push_enabled,
            os_push_enabled=f.os_push_enabled,
            app_version=f.app_version,
            primary=f.primary,
        ),
        active=i.active,
        disabled_reason=i.disabled_reason,
        last_seen_time=seen,
        create_time=created,
    )


def install_json(i: Install) -> dict[str, Any]:
    """An install as the SDK's REST endpoints show it."""
    f = i.fields
    return {
        "installationId": i.id,
        "platform": Platform(f.platform).name,
        "token": f.token,
        "phone": f.phone,
        "externalUserId": f.external_user_id,
        "subscriptions": list(f.subscriptions),
        "pushEnabled": f.push_enabled,
        "osPushEnabled": f.os_push_enabled,
        "appVersion": f.app_version,
        "primary": f.primary,
        "active": i.active,
        "disabledReason": i.disabled_reason or None,
        "lastSeen": i.last_seen_at.isoformat(),
    }
