"""HMS Push Kit: OAuth2 client credentials at the token URL, then
``POST /v1/<appId>/messages:send`` with up to 1,000 tokens. The answer's ``code`` says
what happened: 80000000 all sent, 80100000 some (msg lists ``illegal_tokens``), 80300007
every token invalid, 80200003 our OAuth token expired (fetch another, resend), 80300002
the app may not push (auth: tokens kept), 81000001 internal (retry)."""

from __future__ import annotations

import json

from rcs_rpns.providers import oauth, payload
from rcs_rpns.providers.base import (
    SENT,
    Kind,
    Outcome,
    json_or_empty,
    retry_after,
    transport_failure,
)
from rcs_rpns.providers.credentials import HmsClient
from rcs_rpns.providers.transport import Reply, Transport, TransportError

MAX_TOKENS = 1000
OK, PARTIAL, ALL_INVALID = "80000000", "80100000", "80300007"
OAUTH_EXPIRED, APP_NOT_ALLOWED, INTERNAL = "80200003", "80300002", "81000001"


class HmsPushClient:
    def __init__(self, client: Transport, base_url: str, token_url: str) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self._token_url = token_url
        self._tokens = oauth.TokenCache()

    async def _bearer(self, app: HmsClient) -> str:
        form = {
            "grant_type": "client_credentials",
            "client_id": app.app_id,
            "client_secret": app.app_secret,
        }
        return await self._tokens.get(
            app.app_id, lambda: oauth.exchange(self._client, self._token_url, form)
        )

    async def send(
        self, app: HmsClient, tokens: list[str], n: payload.Notification
    ) -> dict[str, Outcome]:
        """One outcome per token (at most MAX_TOKENS)."""
        for _ in range(2):  # once more with a fresh OAuth token after 80200003 / 401
            try:
                bearer = await self._bearer(app)
            except oauth.TokenError as err:
                kind = Kind.RETRY if err.transient else Kind.FAILED
                return dict.fromkeys(tokens, Outcome(kind, f"hms_{err.detail}"))
            try:
                response = await self._client.post(
                    f"{self._base}/v1/{app.app_id}/messages:send",
                    payload.hms(n, tokens=tokens),
                    {
                        "authorization": f"Bearer {bearer}",
                        "content-type": "application/json",
                    },
                )
            except TransportError as err:
                return dict.fromkeys(tokens, transport_failure(err, "hms"))
            body = json_or_empty(response)
            if response.status == 401 or str(body.get("code")) == OAUTH_EXPIRED:
                self._tokens.drop(app.app_id)
                continue
            return outcomes(response, body, tokens)
        return dict.fromkeys(tokens, Outcome(Kind.FAILED, "hms_oauth_token_refused"))


def outcomes(response: Reply, body: dict[str, object], tokens: list[str]) -> dict[str, Outcome]:
    code = str(body.get("code", ""))
    status = response.status
    if code == OK:
        return dict.fromkeys(tokens, SENT)
    if code == PARTIAL:
        illegal = _illegal_tokens(body.get("msg"))
        dead = Outcome(Kind.INVALID_TOKEN, f"hms_{PARTIAL}_illegal_token")
        return {t: dead if t in illegal else SENT for t in tokens}
    detail = f"hms_{status}_{code}" if code else f"hms_{status}"
    if code == ALL_INVALID:
        return dict.fromkeys(tokens, Outcome(Kind.INVALID_TOKEN, detail))
    if code == INTERNAL or status == 429 or status >= 500:
        return dict.fromkeys(tokens, Outcome(Kind.RETRY, detail, retry_after(response)))
    return dict.fromkeys(tokens, Outcome(Kind.FAILED, detail))  # 80300002 and the like


def _illegal_tokens(msg: object) -> set[str]:
    """msg of a partial success is JSON text: {"success":1,"failure":1,"illegal_tokens":[…]}."""
    try:
        parsed = json.loads(str(msg))
    except ValueError:
        return set()
    found = parsed.get("illegal_tokens") if isinstance(parsed, dict) else None
    return {str(t) for t in found} if isinstance(found, list) else set()
