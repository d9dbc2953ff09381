"""Bearer tokens of FCM (a service-account JWT exchanged at the token URL) and HMS (OAuth2
client credentials), cached until shortly before they expire. One fetch at a time per
account: a burst of sends waits for one token instead of asking for hundreds."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import jwt

from rcs_rpns.providers.transport import Transport, TransportError

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
_EARLY = 60.0  # refresh this long before expiry


class TokenError(Exception):
    """The token endpoint refused the credentials (auth: never a reason to drop a token),
    or could not be reached (``transient``)."""

    def __init__(self, detail: str, *, transient: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.transient = transient


@dataclass(slots=True)
class _Cached:
    token: str
    expires: float


class TokenCache:
    def __init__(self) -> None:
        self._tokens: dict[str, _Cached] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def drop(self, key: str) -> None:
        """Forget a token the service refused (401): the next send fetches a new one."""
        self._tokens.pop(key, None)

    async def get(self, key: str, fetch: Callable[[], Awaitable[tuple[str, float]]]) -> str:
        cached = self._tokens.get(key)
        if cached and cached.expires - _EARLY > time.monotonic():
            return cached.token
        async with self._locks.setdefault(key, asyncio.Lock()):
            cached = self._tokens.get(key)
            if cached and cached.expires - _EARLY > time.monotonic():
                return cached.token
            token, lifetime = await fetch()
            self._tokens[key] = _Cached(token, time.monotonic() + lifetime)
            return token


def fcm_assertion(*, client_email: str, private_key_pem: str, key_id: str, token_url: str) -> str:
    """The RS256 JWT a service account signs to ask for a bearer (Google's jwt-bearer)."""
    now = int(time.time())
    claims = {
        "iss": client_email,
        "scope": FCM_SCOPE,
        "aud": token_url,
        "iat": now,
        "exp": now + 3600,
    }
    headers = {"kid": key_id} if key_id else None
    return jwt.encode(claims, private_key_pem, algorithm="RS256", headers=headers)


async def exchange(client: Transport, url: str, form: dict[str, str]) -> tuple[str, float]:
    """POST the form to a token URL; (access_token, lifetime in seconds)."""
    try:
        response = await client.post(
            url,
            urllib.parse.urlencode(form).encode(),
            {"content-type": "application/x-www-form-urlencoded"},
        )
    except TransportError as err:
        raise TokenError(f"token_url_unreachable_{err.kind}", transient=True) from err
    if response.status >= 500 or response.status == 429:
        raise TokenError(f"token_url_{response.status}", transient=True)
    try:
        body = json.loads(response.body)
        token = str(body["access_token"])
        lifetime = float(body.get("expires_in", 3600))
    except (ValueError, KeyError, TypeError):
        raise TokenError(f"token_refused_{response.status}", transient=False) from None
    if response.status != 200:
        raise TokenError(f"token_refused_{response.status}", transient=False)
    return token, lifetime
