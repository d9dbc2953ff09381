"""Password hashes: Argon2id (argon2-cffi, PHC strings ``$argon2id$…``) for new hashes;
hashes from before the switch (``scrypt$n$r$p$salt$hash``) still verify, and
``needs_rehash`` says when a successful login should store an Argon2id hash instead."""

from __future__ import annotations

import base64
import hashlib
import hmac

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's first Argon2id setting (19 MiB, 2 passes, 1 lane): ~30 ms here, and logins are
# cached by the gateways, so it is paid once per login and address per cache period.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password: str, encoded: str) -> bool:
    if encoded.startswith("scrypt$"):
        return _verify_scrypt(password, encoded)
    try:
        return _HASHER.verify(encoded, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(encoded: str) -> bool:
    return encoded.startswith("scrypt$") or _HASHER.check_needs_rehash(encoded)


def _verify_scrypt(password: str, encoded: str) -> bool:
    try:
        _, n, r, p, salt, digest = encoded.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)
