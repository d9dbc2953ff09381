"""The catalogue's one gRPC mapping: entry codes to grpc.StatusCode, failed calls to entries.

Kept apart from ``rcs_runtime.errors`` so that the catalogue (raised by pure domain code)
imports no grpc; servers (``grpc_server``) and clients (``grpc_client``) use this.
"""

from __future__ import annotations

import grpc

from rcs_runtime.errors import CATALOGUE, CatalogueEntry, GrpcCode, Reason, reason_of


def status_code(code: GrpcCode) -> grpc.StatusCode:
    return grpc.StatusCode[code.value]


def entry_for_grpc(code: grpc.StatusCode, reason: str | None) -> CatalogueEntry:
    """The catalogue entry for a gRPC error seen by a client (reason from ErrorInfo)."""
    known = reason_of(reason)
    if known is not None:
        return CATALOGUE[known]
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return CATALOGUE[Reason.SERVICE_UNAVAILABLE]
    return CATALOGUE[Reason.INTERNAL]
