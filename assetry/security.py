"""Password hashing (argon2id), session tokens (stored only as SHA-256), signed media URLs."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import secrets
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from assetry.config import get_settings


@functools.cache
def _hashing(time_cost: int, memory_kib: int) -> tuple[PasswordHasher, str]:
    """argon2id at this cost, and a hash to verify against when the email is unknown (same effort)."""
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
    return hasher, hasher.hash(secrets.token_urlsafe(16))


def _hasher() -> tuple[PasswordHasher, str]:
    settings = get_settings()
    return _hashing(settings.argon2_time_cost, settings.argon2_memory_kib)


def hash_password(password: str) -> str:
    return _hasher()[0].hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; spends the same effort when there is no hash."""
    hasher, dummy = _hasher()
    try:
        return hasher.verify(password_hash or dummy, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made at another cost than the configured one (it is redone at log-in)."""
    return _hasher()[0].check_needs_rehash(password_hash)


def new_session_token() -> str:
    """A fresh bearer token for a browser session (256 bits)."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the database keeps of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def sign_media(secret: bytes, *, key: str, owner: str, expires: int, download: bool = False) -> str:
    """A URL-safe token naming a media file, its owner and an expiry (Unix seconds), signed with
    HMAC-SHA256."""
    body = json.dumps(
        {"k": key, "o": owner, "e": expires, "d": int(download)},
        separators=(",", ":"),
    ).encode()
    mac = hmac.new(secret, body, hashlib.sha256).digest()
    return _b64(body) + "." + _b64(mac)


def read_media_token(secret: bytes, token: str) -> dict | None:
    """The signed fields of a media token, or None if it is tampered with or expired."""
    try:
        body_b64, mac_b64 = token.split(".", 1)
        body = base64.urlsafe_b64decode(body_b64 + "=" * (-len(body_b64) % 4))
        mac = base64.urlsafe_b64decode(mac_b64 + "=" * (-len(mac_b64) % 4))
    except (ValueError, TypeError):
        return None
    if not hmac.compare_digest(mac, hmac.new(secret, body, hashlib.sha256).digest()):
        return None
    fields = json.loads(body)
    return fields if fields.get("e", 0) >= time.time() else None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
