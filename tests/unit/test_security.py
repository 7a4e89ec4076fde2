"""Password hashing and session token digests."""

from __future__ import annotations

import hashlib

from assetry import security


def test_hash_is_argon2id_salted_and_verifies() -> None:
    first, second = security.hash_password("Correct-Horse-42"), security.hash_password("Correct-Horse-42")
    assert first.startswith("$argon2id$")
    assert first != second  # a fresh salt each time
    assert "Correct-Horse-42" not in first
    assert security.verify_password(first, "Correct-Horse-42") is True
    assert security.needs_rehash(first) is False


def test_verify_refuses_wrong_password_missing_hash_and_garbage() -> None:
    stored = security.hash_password("Correct-Horse-42")
    assert security.verify_password(stored, "correct-horse-42") is False
    assert security.verify_password(None, "Correct-Horse-42") is False
    assert security.verify_password("not-a-hash", "Correct-Horse-42") is False


def test_session_tokens_are_random_and_stored_only_as_sha256() -> None:
    token = security.new_session_token()
    assert len(token) >= 43  # 256 bits, url-safe base64
    assert token != security.new_session_token()
    digest = security.token_digest(token)
    assert digest == hashlib.sha256(token.encode()).hexdigest()
    assert len(digest) == 64
    assert token not in digest
    assert security.token_digest(token[:-1] + "x") != digest
