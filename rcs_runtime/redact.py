"""The last line of defence for logs (issue 14): whatever layer fails — aiohttp's parser
quoting a request line, a library's exception quoting a body — what a partner sent is
masked before a log line is written. Secrets (passwords, keys, tokens, Authorization
headers) and message texts become ``***``, phone-number-like digit runs keep only their
prefix and last two digits (``mask_number``).

Our own events never log these in the first place; this catches what they cannot control.
"""

from __future__ import annotations

import re

# Names of fields that hold secrets (not secrets themselves).
_SECRET_NAMES = r"pass|password|passwd|pwd|secret|token|key|apikey|api_key|authorization"  # noqa: S105
_TEXT = r"message|text|msg"
# query strings and forms: pass=…&message=…
_PAIR = re.compile(rf"(?i)\b((?:{_SECRET_NAMES}|{_TEXT})=)([^&\s'\"]*)")
# JSON: "password": "…", "text": "…"
_JSON = re.compile(rf'(?i)("(?:{_SECRET_NAMES}|{_TEXT})"\s*:\s*)"(?:[^"\\]|\\.)*"')
# HTTP headers: Authorization: Basic …
_HEADER = re.compile(r"(?i)\b(authorization:\s*)[^\r\n'\"]*")
# Phone numbers (and anything as long): 10 to 15 digits, optionally after + or %2B.
_NUMBER = re.compile(r"(?<![0-9])([0-9]{10,15})(?![0-9])")


def _mask(match: re.Match[str]) -> str:
    number = match.group(1)
    return number[:4] + "*" * (len(number) - 6) + number[-2:]


def redact(text: str) -> str:
    text = _HEADER.sub(r"\1***", text)
    text = _PAIR.sub(r"\1***", text)
    text = _JSON.sub(r'\1"***"', text)
    return _NUMBER.sub(_mask, text)
