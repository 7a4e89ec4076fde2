"""Password hashing and session token digests."""

from __future__ import annotations

import hashlib

from assetry import security
from assetry.config import get_settings


def test_hash_is_argon2id_salted_and_verifies() -> None:
    first, second = security.hash_password("Correct-Horse-42"), security.hash_password("Correct-Horse-42")
    assert first.startswith("$argon2id$")
    assert first != second  # a fresh salt each time
    assert "Correct-Horse-42" not in first
    assert security.verify_password(first, "Correct-Horse-42") is True
    assert security.needs_rehash(first) is False


def test_production_cost_is_argon2_cffis_recommended_one_and_a_cheaper_hash_is_redone(monkeypatch) -> None:
    """The suite hashes at a test-only cost (tests/conftest.py); without it, the full cost applies."""
    cheap = security.hash_password("Correct-Horse-42")
    monkeypatch.delenv("ARGON2_TIME_COST")
    monkeypatch.delenv("ARGON2_MEMORY_KIB")
    get_settings.cache_clear()
    try:
        full = security.hash_password("Correct-Horse-42")
        assert full.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
        assert security.verify_password(full, "Correct-Horse-42") is True
        assert security.needs_rehash(cheap) is True  # the next log-in stores a full-cost hash
        assert security.verify_password(cheap, "Correct-Horse-42") is True
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


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
