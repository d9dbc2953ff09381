from __future__ import annotations

import base64
import hashlib

from rcs_core.auth.passwords import hash_password, needs_rehash, verify_password


def _old_scrypt(password: str) -> str:
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${2**14}$8$1${b64(salt).decode()}${b64(digest).decode()}"


def test_new_hashes_are_argon2id_and_verify() -> None:
    encoded = hash_password("correct horse")
    assert encoded.startswith("$argon2id$")
    assert verify_password("correct horse", encoded)
    assert not verify_password("wrong", encoded)
    assert not needs_rehash(encoded)
    assert hash_password("correct horse") != encoded  # salted


def test_scrypt_hashes_from_before_still_verify_and_ask_for_a_rehash() -> None:
    old = _old_scrypt("pw")
    assert verify_password("pw", old)
    assert not verify_password("nope", old)
    assert needs_rehash(old)


def test_garbage_never_verifies() -> None:
    for encoded in ("", "scrypt$1$2", "$argon2id$v=19$m=1$broken", "plain"):
        assert not verify_password("pw", encoded)
