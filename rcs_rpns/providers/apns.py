"""APNs provider API: HTTP/2 over TLS, token auth (ES256 JWT with kid and iss, reused for
30 minutes: Apple refuses one older than an hour and throttles one renewed more often than
every 20), ``POST /3/device/<token>`` with the apns-* headers."""

from __future__ import annotations

import time

import jwt

from rcs_rpns.providers import payload
from rcs_rpns.providers.base import (
    SENT,
    Kind,
    Outcome,
    json_or_empty,
    retry_after,
    transport_failure,
)
from rcs_rpns.providers.credentials import ApnsKey
from rcs_rpns.providers.transport import Reply, Transport, TransportError

TOKEN_LIFETIME = 30 * 60
# 400 reasons about the token itself; 410 is always the token (Unregistered, ExpiredToken).
_DEAD_TOKEN_REASONS = {"BadDeviceToken", "DeviceTokenNotForTopic", "Unregistered"}


class ApnsClient:
    def __init__(self, client: Transport, base_url: str) -> None:
        self._client = client  # HTTP/2, verifying the CA of the configured endpoint
        self._base = base_url.rstrip("/")
        self._jwts: dict[tuple[str, str], tuple[str, float]] = {}

    def provider_token(self, key: ApnsKey) -> str:
        cache_key = (key.team_id, key.key_id)
        cached = self._jwts.get(cache_key)
        now = time.time()
        if cached and now - cached[1] < TOKEN_LIFETIME:
            return cached[0]
        token = jwt.encode(
            {"iss": key.team_id, "iat": int(now)},
            key.private_key_pem,
            algorithm="ES256",
            headers={"kid": key.key_id},
        )
        self._jwts[cache_key] = (token, now)
        return token

    async def send(self, key: ApnsKey, token: str, n: payload.Notification) -> Outcome:
        headers, body = payload.apns(n, topic=key.topic)
        headers["authorization"] = f"bearer {self.provider_token(key)}"
        try:
            response = await self._client.post(f"{self._base}/3/device/{token}", body, headers)
        except TransportError as err:
            return transport_failure(err, "apns")
        return self.outcome(response)

    def outcome(self, response: Reply) -> Outcome:
        status = response.status
        if status == 200:
            return SENT
        reason = str(json_or_empty(response).get("reason", ""))
        detail = f"apns_{status}_{reason}" if reason else f"apns_{status}"
        if status == 410 or (status == 400 and reason in _DEAD_TOKEN_REASONS):
            return Outcome(Kind.INVALID_TOKEN, detail)
        if status == 403 and reason in ("ExpiredProviderToken", "InvalidProviderToken"):
            self._jwts.clear()  # make a new one for the next send; the token stays
        if status == 429 or status >= 500:
            return Outcome(Kind.RETRY, detail, retry_after(response))
        return Outcome(Kind.FAILED, detail)
