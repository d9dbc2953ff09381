"""An application's credentials at each push service (rpns_apps.credentials), typed."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ApnsKey(_Frozen):
    team_id: str
    key_id: str
    private_key_pem: str
    topic: str


class FcmAccount(_Frozen):
    project_id: str
    client_email: str
    private_key_pem: str
    private_key_id: str = ""


class HmsClient(_Frozen):
    app_id: str
    app_secret: str


class RustoreProject(_Frozen):
    project_id: str
    service_token: str


class Credentials(_Frozen):
    apns: ApnsKey | None = None
    fcm: FcmAccount | None = None
    hms: HmsClient | None = None
    rustore: RustoreProject | None = None
