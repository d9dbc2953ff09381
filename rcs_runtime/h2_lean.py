"""h2 set up for CPU per stream, shared by rpns's APNs client and the PNS simulator's APNs
server: both drive h2's state machine from an asyncio Protocol (rcs_rpns/providers/http2.py,
rcs_simulators/pns/apns_h2.py)."""

from __future__ import annotations

import h2.config
import hpack

WINDOW = 2**31 - 1  # the largest flow-control window HTTP/2 allows


def unchecked_config(*, client_side: bool) -> h2.config.H2Configuration:
    """No header checks or normalising in h2: it would walk every header of every stream in
    Python, and each side answers what the other sends (the peer is a known service or the
    client under test)."""
    return h2.config.H2Configuration(
        client_side=client_side,
        header_encoding=None,
        validate_outbound_headers=False,
        normalize_outbound_headers=False,
        validate_inbound_headers=False,
        normalize_inbound_headers=False,
    )


class PlainEncoder(hpack.Encoder):
    """HPACK without Huffman coding (optional in HPACK): somewhat larger header blocks, a
    fraction of the CPU, since hpack Huffman-codes byte by byte in Python."""

    def encode(self, headers, huffman=False):  # type: ignore[no-untyped-def]  # hpack's signature
        return super().encode(headers, huffman=False)
