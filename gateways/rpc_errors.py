"""Failed gRPC calls to core, as catalogued errors."""

from __future__ import annotations

import grpc

from rcs_runtime.errors import CATALOGUE, RcsError, Reason, reason_of
from rcs_runtime.grpc_client import catalogue_entry, error_reason, retry_delay


def rcs_error(err: grpc.aio.AioRpcError) -> RcsError:
    """The catalogued error for a failed call.

    Core's own message (what to change) is passed on only when core sent an ErrorInfo
    reason; transport failures get the catalogue summary, never channel internals.
    """
    entry = catalogue_entry(err)
    message = (err.details() or "") if error_reason(err) in CATALOGUE else ""
    return RcsError(entry.reason, message, retry_after=retry_delay(err))


def result_error(reason: str, message: str, field: str = "") -> RcsError:
    """The catalogued error for a refused item of a batch (``SubmitResult.error``)."""
    known = reason_of(reason)
    if known is not None:
        return RcsError(known, message, field=field)
    return RcsError(Reason.INTERNAL, f"core refused the message with unknown reason {reason!r}")
