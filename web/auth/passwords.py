"""argon2 password hashes (argon2-cffi defaults: argon2id)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

DEMO_PASSWORD = "demo"

_hasher = PasswordHasher()
# Verified against when the user is unknown or has no password, so that a wrong username
# costs as much time as a wrong password.
_DUMMY_HASH = _hasher.hash("kunflow: no such user")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
