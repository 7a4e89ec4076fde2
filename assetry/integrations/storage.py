"""Media storage behind one interface: a local folder (embedded default) or S3-compatible storage.

Keys look like `<user id>/<generation id>/<n>.<ext>`; nothing is listable and
nothing is served directly: files reach their owner only through the signed,
expiring URLs of `assetry.web` (`/media/...`).

Errors: `BadInput` for a malformed key; `FileNotFoundError` for a missing file.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

from assetry.errors import BadInput

_KEY = re.compile(r"^[0-9a-f-]{36}/[0-9a-f-]{36}/[0-9]{1,3}\.(png|webp|jpg|mp4)$")
CHUNK = 256 * 1024


def check_key(key: str) -> str:
    """Refuse anything but our own key shape (no traversal, no listing tricks)."""
    if not _KEY.match(key):
        raise BadInput("That media key is not valid.")
    return key


class MediaStore(Protocol):
    async def put(self, key: str, content: bytes, content_type: str) -> None: ...

    async def size(self, key: str) -> int | None: ...

    def stream(self, key: str) -> AsyncIterator[bytes]: ...

    async def delete(self, key: str) -> None: ...

    async def delete_owner(self, owner: uuid.UUID) -> None: ...


class LocalMediaStore:
    """Files in a private folder (`DATA_DIR/media`), never under a public path."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, content: bytes, content_type: str) -> None:
        path = self.path(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(path.suffix + ".part")
            partial.write_bytes(content)
            partial.replace(path)  # readers never see half a file

        await asyncio.to_thread(write)

    async def size(self, key: str) -> int | None:
        path = self.path(key)
        return await asyncio.to_thread(lambda: path.stat().st_size if path.exists() else None)

    async def stream(self, key: str) -> AsyncIterator[bytes]:
        path = self.path(key)
        handle = await asyncio.to_thread(path.open, "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        path = self.path(key)
        await asyncio.to_thread(path.unlink, missing_ok=True)

    async def delete_owner(self, owner: uuid.UUID) -> None:
        """Every file of one user (all their keys start with their id); nothing if there is none."""
        folder = self.root / str(uuid.UUID(str(owner)))
        await asyncio.to_thread(shutil.rmtree, folder, ignore_errors=True)
