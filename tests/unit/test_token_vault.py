"""Token encryption: authenticated, key ids, rotation."""

from __future__ import annotations

import base64
import os

import pytest

from assetry.token_vault import TokenVault, VaultError

OLD = ("k2025", os.urandom(32))
NEW = ("k2026", os.urandom(32))


def test_sealed_tokens_are_not_readable_and_open_again() -> None:
    vault = TokenVault([NEW])
    sealed = vault.seal("act.secret-token-123")
    assert "secret-token" not in sealed and sealed.startswith("v1:k2026:")
    assert vault.open(sealed) == "act.secret-token-123"
    assert vault.seal("same") != vault.seal("same")  # fresh nonce every time


def test_rotation_opens_old_values_and_seals_with_the_newest_key() -> None:
    old_value = TokenVault([OLD]).seal("refresh-1")
    ring = TokenVault([NEW, OLD])
    assert ring.open(old_value) == "refresh-1"
    assert ring.key_id(ring.seal("refresh-1")) == "k2026"
    with pytest.raises(VaultError, match="no key 'k2025'"):
        TokenVault([NEW]).open(old_value)


def test_tampering_is_detected() -> None:
    vault = TokenVault([NEW, OLD])
    version, kid, payload = vault.seal("token").split(":")
    raw = bytearray(base64.urlsafe_b64decode(payload))
    raw[-1] ^= 1
    with pytest.raises(VaultError, match="tampered"):
        vault.open(f"{version}:{kid}:{base64.urlsafe_b64encode(bytes(raw)).decode()}")
    with pytest.raises(VaultError, match="tampered"):  # relabelled to another key id
        vault.open(f"{version}:k2025:{payload}")
    with pytest.raises(VaultError):
        vault.open("plain-text-token")
