"""Tokens at rest: AES-256-GCM with a key id, so keys can rotate.

A sealed value reads `v1:<key id>:<base64 nonce + ciphertext + tag>`. The key id
and version are bound as associated data, so a value moved to another key id or
tampered with fails to open. Keys come from ENCRYPTION_KEYS ("kid:base64key,...",
newest first); the embedded default keeps one random key in DATA_DIR/encryption.key.
`python -m assetry rotate-keys` re-seals everything under the newest key.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from assetry.config import Settings

VERSION = "v1"


class VaultError(Exception):
    """A sealed value could not be opened (unknown key id, tampered, malformed)."""


class TokenVault:
    """Seals with the newest key; opens with whichever key a value names."""

    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self.keys = dict(keys)
        self.newest = keys[0][0]

    def seal(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        aad = f"{VERSION}:{self.newest}".encode()
        sealed = AESGCM(self.keys[self.newest]).encrypt(nonce, plaintext.encode(), aad)
        return f"{aad.decode()}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, sealed: str) -> str:
        try:
            version, kid, payload = sealed.split(":", 2)
            raw = base64.urlsafe_b64decode(payload)
        except ValueError:
            raise VaultError("not a sealed value") from None
        if version != VERSION or kid not in self.keys:
            raise VaultError(f"no key {kid!r} to open this value")
        try:
            return AESGCM(self.keys[kid]).decrypt(raw[:12], raw[12:], f"{version}:{kid}".encode()).decode()
        except InvalidTag:
            raise VaultError("the value was tampered with or sealed under another key") from None

    def key_id(self, sealed: str) -> str:
        return sealed.split(":", 2)[1]


def vault(settings: Settings) -> TokenVault:
    """The vault for this installation's keys."""
    return TokenVault(settings.encryption_keyring())
