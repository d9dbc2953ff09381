"""The simulated voice provider: the flash-call request's checks and answers, and each
call's status afterwards as a callback (docs/flashcall.md for the wire shape)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from rcs_simulators.callbacks import post_until_taken

AUTH_REQUIRED, INVALID_REQUEST, INVALID_NUMBER = 1, 10, 11
CODE = re.compile(r"\d{4,6}")
NUMBER = re.compile(r"\d{10,15}")
MIN_TIMEOUT_MS, MAX_TIMEOUT_MS = 1_000, 300_000  # the call is waited for 5 minutes at most
_STATUS = {"rings": "RINGING", "busy": "BUSY", "failed": "FAILED", "unanswered": "TIMEOUT"}


class RefusedError(Exception):
    def __init__(self, http_status: int, code: int, reason: str) -> None:
        super().__init__(reason)
        self.http_status = http_status
        self.code = code


@dataclass
class Provider:
    key: str
    callback_url: str
    callback_key: str
    number_prefix: str
    default_outcome: str
    outcomes: dict[str, str]
    ring_delay: float
    retry_seconds: float
    attempts: int
    answer_delay: float = 0.0
    repeats: int = 0  # requests of an externalId already called (answered with the first)
    calls: list[dict[str, Any]] = field(default_factory=list)
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    _by_external: dict[str, tuple[int, str]] = field(default_factory=dict)
    _next_id: int = 1
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=5.0))

    def outcome(self, number: str) -> str:
        return self.outcomes.get(number, self.default_outcome)

    def call(self, doc: Any) -> tuple[int, str]:
        """(requestId, caller number) of a call request, or RefusedError."""
        if not isinstance(doc, dict):
            raise RefusedError(400, INVALID_REQUEST, "Invalid request: the body is not an object")
        number, code, timeout = doc.get("number"), str(doc.get("code") or ""), doc.get("timeout")
        if not isinstance(number, str) or not NUMBER.fullmatch(number):
            raise RefusedError(400, INVALID_NUMBER, "Invalid number: 10-15 digits, E.164")
        if not CODE.fullmatch(code):
            raise RefusedError(400, INVALID_REQUEST, "Invalid request: code is 4-6 digits")
        if not isinstance(timeout, int) or not MIN_TIMEOUT_MS <= timeout <= MAX_TIMEOUT_MS:
            raise RefusedError(
                400,
                INVALID_REQUEST,
                f"Invalid request: timeout is {MIN_TIMEOUT_MS}-{MAX_TIMEOUT_MS} ms",
            )
        external = str(doc.get("externalId") or "")
        if external and external in self._by_external:  # called once per externalId
            self.repeats += 1
            return self._by_external[external]
        outcome = self.outcome(number)
        if outcome == "invalid":
            raise RefusedError(400, INVALID_NUMBER, "Invalid number: not callable")
        request_id, caller = self._next_id, self.number_prefix + code
        self._next_id += 1
        if external:
            self._by_external[external] = (request_id, caller)
        self.calls.append({**doc, "requestId": request_id, "from": caller})
        self._spawn(self._ring(outcome, request_id, caller, number, timeout / 1000, external))
        return request_id, caller

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _ring(
        self, outcome: str, rid: int, caller: str, number: str, wait: float, external: str
    ) -> None:
        await asyncio.sleep(wait if outcome == "unanswered" else self.ring_delay)
        if not self.callback_url:
            return
        doc = {
            "requestId": rid,
            "externalId": external,
            "status": _STATUS[outcome],
            "from": caller,
            "number": number,
            "timestamp": int(time.time()),
        }
        self.callbacks.append(doc)
        await post_until_taken(
            self._http,
            self.callback_url,
            json.dumps(doc).encode(),
            {
                "Content-Type": "application/json",
                "X-Authorization": f"AccessKey {self.callback_key}",
            },
            attempts=self.attempts,
            retry_seconds=self.retry_seconds,
        )

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self._http.aclose()
