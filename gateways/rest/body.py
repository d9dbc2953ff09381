"""Request bodies: the whole body up to a limit and within a time, and JSON of bounded depth.

``request.content.read(n)`` returns whatever has arrived, not the body: a body that comes
in pieces (any client on a real network) was cut short. Every gateway reads through here.
A client that sends its body too slowly is answered REQUEST_TIMEOUT and its connection
closed, so slow clients cannot hold connections open.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from rcs_runtime.errors import RcsError, Reason

BODY_TIMEOUT = web.AppKey("body_timeout_seconds", float)
DEFAULT_BODY_TIMEOUT_SECONDS = 30.0
MAX_JSON_DEPTH = 32  # no API of ours nests deeper than a few levels


class BodyTooLargeError(RcsError):
    def __init__(self, limit: int) -> None:
        super().__init__(Reason.INVALID_REQUEST, f"the body is larger than {limit} bytes")


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body, at most ``limit`` bytes (BodyTooLargeError beyond), arriving within
    the app's BODY_TIMEOUT (REQUEST_TIMEOUT, and the connection closed, if not)."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLargeError(limit)
    seconds = request.app.get(BODY_TIMEOUT, DEFAULT_BODY_TIMEOUT_SECONDS)
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(seconds):
            while chunk := await request.content.readany():
                size += len(chunk)
                if size > limit:
                    request.protocol.close()  # after the answer: the rest is not worth reading
                    raise BodyTooLargeError(limit)
                chunks.append(chunk)
    except TimeoutError as exc:
        request.protocol.close()  # once answered
        raise RcsError(
            Reason.REQUEST_TIMEOUT, f"the body did not arrive within {seconds:g} s: send it at once"
        ) from exc
    return b"".join(chunks)


def loads_json(text: str | bytes) -> Any:
    """json.loads, refusing (ValueError) documents nested deeper than MAX_JSON_DEPTH: deep
    nesting exhausted the parser's (or later protobuf's) recursion and answered 500."""
    try:
        doc = json.loads(text)
    except RecursionError as exc:
        raise ValueError("the JSON document is nested too deeply") from exc
    check_depth(doc)
    return doc


def check_depth(doc: Any, limit: int = MAX_JSON_DEPTH) -> None:
    """ValueError if ``doc`` (as json.loads makes it) nests arrays/objects deeper than
    ``limit``; iteratively, a level at a time (a recursive walk would fail the same way as
    the parser), and only containers are carried to the next level: a REST_BATCH body of
    3,000 messages is checked in less time than it is parsed."""
    level: list[Any] = [doc] if doc.__class__ is dict or doc.__class__ is list else []
    depth = 1
    while level:
        if depth > limit:
            raise ValueError(f"the JSON document is nested deeper than {limit} levels")
        deeper: list[Any] = []
        for value in level:
            children = value.values() if value.__class__ is dict else value
            deeper += [c for c in children if c.__class__ is dict or c.__class__ is list]
        level = deeper
        depth += 1
