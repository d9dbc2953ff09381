"""Replies a partner gives in its answer to an HTTP v5 MO (http_mo.rst: a 200 body is the
text to send back to the subscriber, one message per line).

Each reply is accepted like any message of the partner, from the number the subscriber
wrote to, before the MO report counts as delivered. Its client_ref is made from the MO's
id and the line's place, so when the MO is sent again (a lost settlement, a crash) the
same replies are found, not sent twice. The texts the platform itself sends for a route
(its "unavailable" and session texts) are accepted the same way, with a tag of their own
in the client_ref; ``accept_replies`` does it in a transaction the caller already holds.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

import psycopg
from psycopg_pool import AsyncConnectionPool

from rcs.core.v1 import message_service_pb2 as ms
from rcs_core.auth import partners_store as partners
from rcs_core.messages import store as messages
from rcs_core.messages.idalloc import IdAllocator
from rcs_core.messages.validation import Submission, validate
from rcs_core.reports.store import LeasedReport
from rcs_runtime.errors import RcsError

log = logging.getLogger(__name__)
MAX_REPLIES = 10


class InboundReplier:
    def __init__(self, pool: AsyncConnectionPool, installation_id: int) -> None:
        self._pool = pool
        self._ids = IdAllocator(installation_id)

    async def reply(
        self, report: LeasedReport, login: str, texts: list[str], *, tag: str = ""
    ) -> list[int]:
        """Accept the replies; returns their ids (a repeat returns the first ids). A reply
        that cannot be sent (too long, no such partner any more) is logged and skipped.
        ``tag`` keeps replies of another kind (the route's "unavailable" text) apart from
        the partner's own in the client_refs that make repeats idempotent."""
        async with self._pool.connection() as conn, conn.transaction():
            return await accept_replies(
                conn,
                self._ids,
                login=login,
                message_id=report.message_id,
                subscriber=str(report.body.get("sender") or ""),
                number=str(report.body.get("destination") or ""),
                texts=texts,
                tag=tag,
            )


async def accept_replies(
    conn: psycopg.AsyncConnection,
    ids: IdAllocator,
    *,
    login: str,
    message_id: int,
    subscriber: str,
    number: str,
    texts: Sequence[str],
    tag: str = "",
) -> list[int]:
    """Accept, in the caller's transaction, ``login``'s replies to MO ``message_id``: from
    ``number`` (the one the subscriber wrote to) to ``subscriber``, with client_refs
    ``mo-<message_id>-<tag><line>``, so a repeat finds the first ones instead of sending
    again. Returns their ids; a reply that cannot be sent is logged and skipped."""
    partner = await partners.by_login(conn, login)
    if partner is None:
        log.warning("inbound_reply_no_partner", extra={"partner": login})
        return []
    valid = []
    for n, text in enumerate(texts[:MAX_REPLIES], start=1):
        try:
            valid.append(
                validate(
                    Submission(
                        client_ref=f"mo-{message_id}-{tag}{n}",
                        destination=subscriber,
                        channel=1,
                        text=text,
                        sender=number,
                        priority=1,
                        ttl=dt.timedelta(0),
                        receipt_request=0,
                        report_format=ms.REPORT_FORMAT_HTTP_V5,
                    ),
                    default_sender=partner.default_sender,
                    default_ttl=dt.timedelta(seconds=partner.default_ttl_seconds),
                    trace_parent="",
                )
            )
        except RcsError as err:
            log.warning(
                "inbound_reply_refused",
                extra={"partner": login, "reason": err.reason, "line": n, "tag": tag},
            )
    if len(texts) > MAX_REPLIES:
        log.warning("inbound_replies_cut", extra={"partner": login, "lines": len(texts)})
    accepted = await messages.accept(conn, ids=ids, partner_id=partner.id, messages=valid)
    return [a.message_id for a in accepted if a.message_id]
