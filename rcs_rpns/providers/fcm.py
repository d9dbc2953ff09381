"""FCM HTTP v1: a service-account RS256 JWT exchanged at the token URL for an OAuth2
bearer, then ``POST /v1/projects/<id>/messages:send`` per token."""

from __future__ import annotations

from typing import Any

from rcs_rpns.providers import oauth, payload
from rcs_rpns.providers.base import (
    SENT,
    Kind,
    Outcome,
    json_or_empty,
    retry_after,
    transport_failure,
)
from rcs_rpns.providers.credentials import FcmAccount
from rcs_rpns.providers.transport import Reply, Transport, TransportError

_RETRY_STATUSES = {"QUOTA_EXCEEDED", "UNAVAILABLE", "INTERNAL", "RESOURCE_EXHAUSTED"}


class FcmClient:
    def __init__(self, client: Transport, base_url: str, token_url: str) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self._token_url = token_url
        self._tokens = oauth.TokenCache()

    async def _bearer(self, account: FcmAccount) -> str:
        async def fetch() -> tuple[str, float]:
            assertion = oauth.fcm_assertion(
                client_email=account.client_email,
                private_key_pem=account.private_key_pem,
                key_id=account.private_key_id,
                token_url=self._token_url,
            )
            form = {
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": assertion,
            }
            return await oauth.exchange(self._client, self._token_url, form)

        return await self._tokens.get(account.client_email, fetch)

    async def send(self, account: FcmAccount, token: str, n: payload.Notification) -> Outcome:
        try:
            bearer = await self._bearer(account)
        except oauth.TokenError as err:
            return Outcome(Kind.RETRY if err.transient else Kind.FAILED, f"fcm_{err.detail}")
        try:
            response = await self._client.post(
                f"{self._base}/v1/projects/{account.project_id}/messages:send",
                payload.fcm(n, token=token),
                {"authorization": f"Bearer {bearer}", "content-type": "application/json"},
            )
        except TransportError as err:
            return transport_failure(err, "fcm")
        if response.status == 401:
            self._tokens.drop(account.client_email)
        return outcome(response)


def _error_code(error: dict[str, Any]) -> str:
    """FcmError's errorCode from the details, else the canonical status."""
    for detail in error.get("details") or ():
        if isinstance(detail, dict) and detail.get("errorCode"):
            return str(detail["errorCode"])
    return str(error.get("status", ""))


def outcome(response: Reply) -> Outcome:
    status = response.status
    if status == 200:
        return SENT
    error = json_or_empty(response).get("error")
    error = error if isinstance(error, dict) else {}
    code = _error_code(error)
    detail = f"fcm_{status}_{code}" if code else f"fcm_{status}"
    if code == "UNREGISTERED" or status == 404:
        return Outcome(Kind.INVALID_TOKEN, detail)
    # INVALID_ARGUMENT is the token's fault only when FCM says so; a bad payload is ours.
    if code == "INVALID_ARGUMENT" and "registration token" in str(error.get("message", "")):
        return Outcome(Kind.INVALID_TOKEN, detail)
    if status == 429 or status >= 500 or code in _RETRY_STATUSES:
        return Outcome(Kind.RETRY, detail, retry_after(response))
    return Outcome(Kind.FAILED, detail)  # 401/403 auth, SENDER_ID_MISMATCH, bad payload
