"""RuStore push: ``POST /v1/projects/<project>/messages:send`` with the project's service
token as bearer, an FCM-like body and FCM-like errors (404 NOT_FOUND: the token is gone)."""

from __future__ import annotations

from rcs_rpns.providers import payload
from rcs_rpns.providers.base import (
    SENT,
    Kind,
    Outcome,
    json_or_empty,
    retry_after,
    transport_failure,
)
from rcs_rpns.providers.credentials import RustoreProject
from rcs_rpns.providers.transport import Reply, Transport, TransportError


class RustoreClient:
    def __init__(self, client: Transport, base_url: str) -> None:
        self._client = client
        self._base = base_url.rstrip("/")

    async def send(self, project: RustoreProject, token: str, n: payload.Notification) -> Outcome:
        try:
            response = await self._client.post(
                f"{self._base}/v1/projects/{project.project_id}/messages:send",
                payload.rustore(n, token=token),
                {
                    "authorization": f"Bearer {project.service_token}",
                    "content-type": "application/json",
                },
            )
        except TransportError as err:
            return transport_failure(err, "rustore")
        return outcome(response)


def outcome(response: Reply) -> Outcome:
    status = response.status
    if status == 200:
        return SENT
    error = json_or_empty(response).get("error")
    code = str(error.get("status", "")) if isinstance(error, dict) else ""
    detail = f"rustore_{status}_{code}" if code else f"rustore_{status}"
    if status == 404 or code in ("NOT_FOUND", "UNREGISTERED"):
        return Outcome(Kind.INVALID_TOKEN, detail)
    if status == 429 or status >= 500:
        return Outcome(Kind.RETRY, detail, retry_after(response))
    return Outcome(Kind.FAILED, detail)
