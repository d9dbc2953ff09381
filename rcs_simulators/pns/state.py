"""What the simulated push services know: token states, failures queued by the control
API, issued OAuth tokens, counters and the last requests (for tests to inspect)."""

from __future__ import annotations

import collections
import secrets
from dataclasses import dataclass, field

PROVIDERS = ("apns", "fcm", "hms", "rustore", "fcm_token", "hms_token")


@dataclass(slots=True)
class Failure:
    """One injected answer: the HTTP status, and the service's own reason or code."""

    status: int
    reason: str = ""  # APNs reason, FCM/RuStore status or errorCode, HMS code
    retry_after: int | None = None


@dataclass
class SimState:
    tokens: dict[str, str] = field(default_factory=dict)
    failures: dict[str, collections.deque[Failure]] = field(
        default_factory=lambda: {p: collections.deque() for p in PROVIDERS}
    )
    bearers: set[str] = field(default_factory=set)
    counts: collections.Counter[str] = field(default_factory=collections.Counter)
    # (headers, body) of the last requests per provider; decoded only when asked for.
    recent: dict[str, collections.deque[tuple[dict[str, str], bytes]]] = field(
        default_factory=lambda: {p: collections.deque(maxlen=200) for p in PROVIDERS}
    )

    def token_state(self, token: str) -> str:
        return self.tokens.get(token, "valid")

    def next_failure(self, provider: str) -> Failure | None:
        queue = self.failures[provider]
        return queue.popleft() if queue else None

    def fail(self, provider: str, failure: Failure, count: int) -> None:
        self.failures[provider].extend([failure] * count)

    def issue_bearer(self, prefix: str) -> str:
        token = f"{prefix}-{secrets.token_urlsafe(16)}"
        self.bearers.add(token)
        return token

    def count(self, provider: str, outcome: str, n: int = 1) -> None:
        self.counts[f"{provider}.{outcome}"] += n

    def reset(self) -> None:
        self.tokens.clear()
        for queue in self.failures.values():
            queue.clear()
        self.counts.clear()
        for recent in self.recent.values():
            recent.clear()
