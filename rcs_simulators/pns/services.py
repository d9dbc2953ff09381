"""The four push services' request handling, each on its documented wire format.
A request is (method, path, headers, body); an answer is (status, headers, JSON body).
Valid tokens are handed to the device (``Device.push``), which confirms through rpns."""

from __future__ import annotations

import itertools
import json
import re
import secrets
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import jwt
import orjson

from rcs_simulators.pns.state import Failure, SimState

Answer = tuple[int, dict[str, str], dict[str, Any] | None]
Deliver = Callable[[str, str], None]  # (token, push id) → the device confirms later

_APNS_PATH = re.compile(r"/3/device/([^/]+)")
_FCM_PATH = re.compile(r"/fcm/v1/projects/([^/]+)/messages:send")
_HMS_PATH = re.compile(r"/hms/v1/([^/]+)/messages:send")
_RUSTORE_PATH = re.compile(r"/rustore/v1/projects/([^/]+)/messages:send")
_HEX = re.compile(r"[0-9a-fA-F]{64,200}")
MAX_PAYLOAD = 4096
_GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def _retry_headers(f: Failure) -> dict[str, str]:
    return {"retry-after": str(f.retry_after)} if f.retry_after is not None else {}


def _google_error(status: int, code: str, message: str, **extra: str) -> Answer:
    """FCM's (and RuStore's) error body; ``code`` also goes in FcmError's errorCode."""
    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "status": _GOOGLE_STATUS.get(status, "UNKNOWN"),
        "details": [
            {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}
        ],
    }
    return status, dict(extra), {"error": error}


def _push_id_from_flat(data: Any) -> str:
    try:
        return str(orjson.loads(data["rpns"])["pushId"])
    except (TypeError, KeyError, ValueError):
        return ""


class _Ids:
    """Unique 32-hex ids (apns-id, message names): a random prefix and a counter, so that
    an answer costs no call to the OS's random source."""

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(10)
        self._next = itertools.count()

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._next) & 0xFFFFFFFFFFFF:012x}"


_JWT_CACHE_SIZE = 1024


class Services:
    def __init__(self, state: SimState, deliver: Deliver) -> None:
        self.state = state
        self._deliver = deliver
        self._id = _Ids()
        # An APNs provider token is reused for up to an hour: parse each one once.
        self._jwts: dict[str, tuple[dict[str, Any], dict[str, Any]] | None] = {}

    def _provider_token(self, raw: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(header, claims) of an APNs provider token, None when it does not parse."""
        if raw in self._jwts:
            return self._jwts[raw]
        try:
            parsed = (
                jwt.get_unverified_header(raw),
                jwt.decode(raw, options={"verify_signature": False}),
            )
        except jwt.PyJWTError:
            parsed = None
        if len(self._jwts) >= _JWT_CACHE_SIZE:
            self._jwts.clear()
        self._jwts[raw] = parsed
        return parsed

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        if method != "POST":
            return 405, {}, {"error": "POST only"}
        if m := _APNS_PATH.fullmatch(path):
            return self.apns(m.group(1), headers, body)
        if path == "/fcm/token":
            return self.fcm_token(body)
        if m := _FCM_PATH.fullmatch(path):
            return self.fcm(headers, body)
        if path == "/hms/oauth2/v3/token":
            return self.hms_token(body)
        if m := _HMS_PATH.fullmatch(path):
            return self.hms(headers, body)
        if m := _RUSTORE_PATH.fullmatch(path):
            return self.rustore(headers, body)
        return 404, {}, {"error": f"no such endpoint {path}"}

    def _remember(self, provider: str, headers: dict[str, str], body: bytes) -> None:
        self.state.recent[provider].append((headers, body))

    # APNs provider API ------------------------------------------------------------
    def apns(self, token: str, headers: dict[str, str], body: bytes) -> Answer:
        self._remember("apns", headers, body)
        apns_id = headers.get("apns-id") or self._id()
        answer_headers = {"apns-id": apns_id}
        auth = headers.get("authorization", "")
        if not auth.startswith("bearer "):
            return self._apns_refused(403, "MissingProviderToken", answer_headers)
        parsed = self._provider_token(auth[7:])
        if parsed is None:
            return self._apns_refused(403, "InvalidProviderToken", answer_headers)
        head, claims = parsed
        if head.get("alg") != "ES256" or not head.get("kid") or not claims.get("iss"):
            return self._apns_refused(403, "InvalidProviderToken", answer_headers)
        if time.time() - float(claims.get("iat", 0)) > 3600:
            return self._apns_refused(403, "ExpiredProviderToken", answer_headers)
        if not headers.get("apns-topic"):
            return self._apns_refused(400, "MissingTopic", answer_headers)
        if headers.get("apns-push-type") not in ("alert", "background", "voip", "liveactivity"):
            return self._apns_refused(400, "InvalidPushType", answer_headers)
        if len(body) > MAX_PAYLOAD:
            return self._apns_refused(413, "PayloadTooLarge", answer_headers)
        if len(headers.get("apns-collapse-id", "").encode()) > 64:
            return self._apns_refused(400, "BadCollapseId", answer_headers)
        try:
            payload = orjson.loads(body)
            push_id = str(payload["rpns"]["pushId"])
        except (ValueError, KeyError, TypeError):
            return self._apns_refused(400, "BadPayload", answer_headers)
        failure = self.state.next_failure("apns")
        if failure is not None:
            reason = failure.reason or {429: "TooManyRequests", 503: "ServiceUnavailable"}.get(
                failure.status, "InternalServerError"
            )
            return self._apns_refused(
                failure.status, reason, {**answer_headers, **_retry_headers(failure)}
            )
        state = self.state.token_state(token)
        if not _HEX.fullmatch(token) or state == "invalid":
            return self._apns_refused(400, "BadDeviceToken", answer_headers)
        if state == "unregistered":
            self.state.count("apns", "unregistered")
            return (
                410,
                answer_headers,
                {"reason": "Unregistered", "timestamp": int(time.time() * 1000)},
            )
        self._accepted("apns", token, push_id, state)
        return 200, answer_headers, None

    def _apns_refused(self, status: int, reason: str, headers: dict[str, str]) -> Answer:
        self.state.count("apns", reason)
        return status, headers, {"reason": reason}

    def _accepted(self, provider: str, token: str, push_id: str, state: str) -> None:
        self.state.count(provider, "accepted")
        if state == "valid" and push_id:
            self._deliver(token, push_id)

    # OAuth token endpoints ----------------------------------------------------------
    def fcm_token(self, body: bytes) -> Answer:
        form = dict(urllib.parse.parse_qsl(body.decode()))
        failure = self.state.next_failure("fcm_token")
        if failure is not None:
            return (
                failure.status,
                _retry_headers(failure),
                {"error": failure.reason or "invalid_grant"},
            )
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return 400, {}, {"error": "unsupported_grant_type"}
        try:
            head = jwt.get_unverified_header(form.get("assertion", ""))
            claims = jwt.decode(form.get("assertion", ""), options={"verify_signature": False})
        except jwt.PyJWTError:
            return 400, {}, {"error": "invalid_grant", "error_description": "bad assertion"}
        if head.get("alg") != "RS256" or "firebase.messaging" not in str(claims.get("scope")):
            return 400, {}, {"error": "invalid_scope"}
        self.state.count("fcm_token", "issued")
        bearer = self.state.issue_bearer("fcm")
        return 200, {}, {"access_token": bearer, "expires_in": 3599, "token_type": "Bearer"}

    def hms_token(self, body: bytes) -> Answer:
        form = dict(urllib.parse.parse_qsl(body.decode()))
        failure = self.state.next_failure("hms_token")
        if failure is not None:
            return (
                failure.status,
                _retry_headers(failure),
                {"error": 1101, "error_description": "invalid client"},
            )
        if form.get("grant_type") != "client_credentials" or not form.get("client_secret"):
            return 400, {}, {"error": 1102, "error_description": "missing client credentials"}
        self.state.count("hms_token", "issued")
        bearer = self.state.issue_bearer("hms")
        return 200, {}, {"access_token": bearer, "expires_in": 3600, "token_type": "Bearer"}

    def _bearer_ok(self, headers: dict[str, str]) -> bool:
        auth = headers.get("authorization", "")
        return auth.startswith("Bearer ") and auth[7:] in self.state.bearers

    # FCM HTTP v1 --------------------------------------------------------------------
    def fcm(self, headers: dict[str, str], body: bytes) -> Answer:
        self._remember("fcm", headers, body)
        if not self._bearer_ok(headers):
            self.state.count("fcm", "unauthenticated")
            return _google_error(401, "UNAUTHENTICATED", "Request had invalid credentials.")
        try:
            message = orjson.loads(body)["message"]
            token = str(message["token"])
        except (ValueError, KeyError, TypeError):
            return _google_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        if len(body) > MAX_PAYLOAD:
            return _google_error(400, "INVALID_ARGUMENT", "Message is too big")
        failure = self.state.next_failure("fcm")
        if failure is not None:
            code = failure.reason or {429: "QUOTA_EXCEEDED", 503: "UNAVAILABLE"}.get(
                failure.status, "INTERNAL"
            )
            self.state.count("fcm", code)
            return _google_error(failure.status, code, "injected", **_retry_headers(failure))
        state = self.state.token_state(token)
        if state == "invalid":
            self.state.count("fcm", "invalid")
            return _google_error(
                400,
                "INVALID_ARGUMENT",
                "The registration token is not a valid FCM registration token",
            )
        if state == "unregistered":
            self.state.count("fcm", "unregistered")
            return _google_error(404, "UNREGISTERED", "Requested entity was not found.")
        self._accepted("fcm", token, _push_id_from_flat(message.get("data")), state)
        return 200, {}, {"name": f"projects/sim/messages/{self._id()}"}

    # HMS Push Kit -------------------------------------------------------------------
    def hms(self, headers: dict[str, str], body: bytes) -> Answer:
        self._remember("hms", headers, body)
        if not self._bearer_ok(headers):
            self.state.count("hms", "80200003")
            return 401, {}, {"code": "80200003", "msg": "OAuth token expired"}
        try:
            message = orjson.loads(body)["message"]
            tokens = [str(t) for t in message["token"]]
            push_id = str(orjson.loads(message["data"])["rpns"]["pushId"])
        except (ValueError, KeyError, TypeError):
            return 400, {}, {"code": "80100003", "msg": "Illegal payload"}
        if not 1 <= len(tokens) <= 1000:
            return 400, {}, {"code": "80100001", "msg": "Illegal token count"}
        failure = self.state.next_failure("hms")
        if failure is not None:
            code = failure.reason or {500: "81000001"}.get(failure.status, "81000001")
            self.state.count("hms", code)
            return failure.status, _retry_headers(failure), {"code": code, "msg": "injected"}
        illegal = [t for t in tokens if self.state.token_state(t) in ("invalid", "unregistered")]
        for t in tokens:
            if t not in illegal:
                self._accepted("hms", t, push_id, self.state.token_state(t))
        if len(illegal) == len(tokens):
            self.state.count("hms", "80300007")
            return 200, {}, {"code": "80300007", "msg": "All the tokens are invalid"}
        if illegal:
            self.state.count("hms", "80100000")
            msg = {
                "success": len(tokens) - len(illegal),
                "failure": len(illegal),
                "illegal_tokens": illegal,
            }
            return 200, {}, {"code": "80100000", "msg": json.dumps(msg)}
        return 200, {}, {"code": "80000000", "msg": "Success", "requestId": self._id()}

    # RuStore ------------------------------------------------------------------------
    def rustore(self, headers: dict[str, str], body: bytes) -> Answer:
        self._remember("rustore", headers, body)
        if (
            not headers.get("authorization", "").startswith("Bearer ")
            or len(headers.get("authorization", "")) <= 7
        ):
            return _google_error(401, "UNAUTHENTICATED", "no service token")
        try:
            message = orjson.loads(body)["message"]
            token = str(message["token"])
        except (ValueError, KeyError, TypeError):
            return _google_error(400, "INVALID_ARGUMENT", "bad message")
        failure = self.state.next_failure("rustore")
        if failure is not None:
            code = failure.reason or _GOOGLE_STATUS.get(failure.status, "INTERNAL")
            self.state.count("rustore", code)
            return _google_error(failure.status, code, "injected", **_retry_headers(failure))
        state = self.state.token_state(token)
        if state in ("invalid", "unregistered"):
            self.state.count("rustore", "not_found")
            return _google_error(404, "NOT_FOUND", "token not found")
        self._accepted("rustore", token, _push_id_from_flat(message.get("data")), state)
        return 200, {}, {}
