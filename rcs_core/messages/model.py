"""A message as accepted, before it is stored: what validation produces from a submission
and the store writes. Pure data (no I/O), so that validation stays pure domain code."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# A sending window as stored: begin and end minutes after local midnight, ISO weekdays as
# a bit mask (bit 0 Monday; 0 every day), UTC offset in minutes (None: the subscriber's zone).
StoredWindow = tuple[int, int, int, int | None]


@dataclass(slots=True)  # not frozen: a frozen __init__ costs 3x per accepted message
class NewMessage:
    client_ref: str | None
    channel: int
    destination: str
    sender: str
    body: str
    priority: int
    ttl: dt.timedelta
    receipt_request: int
    trace_parent: str
    traffic_type: int | None = None
    mailing: str = ""
    ptag: str | None = None
    report_format: int = 0
    report_url: str | None = None
    send_after: dt.datetime | None = None
    # SMPP receipts to send for a message the partner split itself: one per part that
    # asked (Rapporto: one deliver_sm per submit_sm); None for one.
    receipt_copies: int | None = None
    window: StoredWindow | None = None  # the partner's sending window, checked at dispatch
    flash: bool | None = None  # flash SMS (message class 0); None: ordinary
    # Binary SMS (body = the octets in hex): what every part is submitted with.
    data_coding: int | None = None
    esm_class: int | None = None
    # A repeat of client_ref while its first is being stored: REQUEST_IN_PROGRESS.
    refuse_ref_in_progress: bool = False
    push: bytes | None = None  # CHANNEL_PUSH: serialized rcs.common.v1.PushContent
    # Cascades: 0 for a cascade's first message (the cascade takes its id), the cascade's
    # id for a later link (whose client_ref is the first one's, not registered again).
    cascade_id: int | None = None
    cascade_links: list[bytes] | None = None  # the first message's: the links after it
    wait_for: int | None = None  # the status the first message must reach in time
    mailing_id: int | None = None  # the core mailing that fed it (its black list rule)
