"""Routes encoded straight to protobuf wire bytes, for the batch hot path.

Building a ``Route`` message field by field costs about as much as deciding the route
(several µs for a dozen fields). The strings of a route repeat endlessly (directions,
operators, interfaces, senders, rules), so their encoded fields are cached and a route is
a join of cached pieces. ``tests/unit/routing/test_wire.py`` checks the bytes parse back
to exactly what ``servicer._route`` builds.
"""

from __future__ import annotations

import datetime as dt

from rcs_routing.table import Decision

# Tags (field number << 3 | wire type) of rcs.routing.v1.Route.
_FOUND = b"\x08\x01"
_DIRECTION, _OPERATOR, _INTERFACE, _SENDER = 0x12, 0x1A, 0x22, 0x2A
_ERROR_CODE, _REVISION = 0x30, 0x38
_FALLBACK, _RULE = 0x42, 0x4A
_TRAFFIC_TYPE, _POLICY, _HOLD_UNTIL, _PARTNER_WINDOW = 0x50, 0x58, 0x62, 0x68
_ROUTES = 0x0A  # ResolveRoutesResponse.routes
_CACHE_LIMIT = 200_000  # distinct strings kept; cleared when exceeded


def varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_SMALL = [varint(n) for n in range(1 << 14)]


def _length(n: int) -> bytes:
    return _SMALL[n] if n < len(_SMALL) else varint(n)


class RouteEncoder:
    def __init__(self) -> None:
        # One cache per string field: the key is the bare string (no tuple to build).
        self._fields: dict[int, dict[str, bytes]] = {
            tag: {} for tag in (_DIRECTION, _OPERATOR, _INTERFACE, _SENDER, _FALLBACK, _RULE)
        }
        self._ints: dict[tuple[int, int], bytes] = {}
        self._times: dict[dt.datetime, bytes] = {}

    def _string(self, tag: int, value: str) -> bytes:
        cache = self._fields[tag]
        hit = cache.get(value)
        if hit is None:
            if len(cache) > _CACHE_LIMIT:
                cache.clear()
            raw = value.encode()
            hit = bytes((tag,)) + _length(len(raw)) + raw
            cache[value] = hit
        return hit

    def _int(self, tag: int, value: int) -> bytes:
        """Non-negative ints only (codes, types, revisions): negative int32 take 10 bytes."""
        key = (tag, value)
        hit = self._ints.get(key)
        if hit is None:
            hit = bytes((tag,)) + varint(value)
            self._ints[key] = hit
        return hit

    def _time(self, when: dt.datetime) -> bytes:
        hit = self._times.get(when)
        if hit is None:
            if len(self._times) > _CACHE_LIMIT:
                self._times.clear()
            seconds = int(when.timestamp() // 1)
            nanos = when.microsecond * 1000
            body = b"\x08" + varint(seconds) + (b"\x10" + varint(nanos) if nanos else b"")
            hit = bytes((_HOLD_UNTIL,)) + _length(len(body)) + body
            self._times[when] = hit
        return hit

    def route(self, d: Decision) -> bytes:
        """The Route message's bytes (proto3: default values are left out)."""
        f = self._fields
        parts = [_FOUND] if d.found else []
        for tag, value in (
            (_DIRECTION, d.direction),
            (_OPERATOR, d.operator),
            (_INTERFACE, d.interface_id),
            (_SENDER, d.sender),
        ):
            if value:
                parts.append(f[tag].get(value) or self._string(tag, value))
        if d.error_code:
            parts.append(self._int(_ERROR_CODE, d.error_code))
        if d.revision:
            parts.append(self._int(_REVISION, d.revision))
        for fallback in d.fallbacks:
            parts.append(f[_FALLBACK].get(fallback) or self._string(_FALLBACK, fallback))
        if d.rule:
            parts.append(f[_RULE].get(d.rule) or self._string(_RULE, d.rule))
        if d.traffic_type:
            parts.append(self._int(_TRAFFIC_TYPE, d.traffic_type))
        if d.policy:
            parts.append(self._int(_POLICY, d.policy))
        if d.hold_until is not None:
            parts.append(self._time(d.hold_until))
        if d.held_by_window:
            parts.append(bytes((_PARTNER_WINDOW, 1)))
        return b"".join(parts)

    def routes(self, decisions: list[Decision]) -> bytes:
        """A ResolveRoutesResponse's bytes."""
        out = []
        for d in decisions:
            body = self.route(d)
            out.append(bytes((_ROUTES,)) + _length(len(body)) + body)
        return b"".join(out)
