"""Media storage behind one interface: a local folder (embedded default) or S3-compatible storage
(Supabase Storage's S3 endpoint, or any S3 API) with a private bucket.

Keys look like `<user id>/<generation id>/<n>.<ext>`; nothing is listable and
nothing is served directly: files reach their owner only through the signed,
expiring URLs of `assetry.web` (`/media/...`).

Errors: `BadInput` for a malformed key; `FileNotFoundError` for a missing file.
"""

from __future__ import annotations

import asyncio
import contextlib
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


class S3MediaStore:
    """A private bucket on an S3-compatible API (boto3, run off the event loop)."""

    def __init__(
        self, *, endpoint_url: str, bucket: str, access_key: str, secret_key: str, region: str
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self._client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"}),
        )

    async def put(self, key: str, content: bytes, content_type: str) -> None:
        await asyncio.to_thread(
            self._client.put_object,
            Bucket=self.bucket,
            Key=check_key(key),
            Body=content,
            ContentType=content_type,
        )

    async def check_bucket(self) -> None:
        """Raise botocore's ClientError when the bucket is missing or the keys are refused."""
        await asyncio.to_thread(self._client.head_bucket, Bucket=self.bucket)

    async def size(self, key: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            head = await asyncio.to_thread(self._client.head_object, Bucket=self.bucket, Key=check_key(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return int(head["ContentLength"])

    async def stream(self, key: str) -> AsyncIterator[bytes]:
        reply = await asyncio.to_thread(self._client.get_object, Bucket=self.bucket, Key=check_key(key))
        body = reply["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, CHUNK):
                yield chunk
        finally:
            with contextlib.suppress(Exception):
                body.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._client.delete_object, Bucket=self.bucket, Key=check_key(key))

    async def delete_owner(self, owner: uuid.UUID) -> None:
        """Every object under one user's prefix (listed and deleted in pages of up to 1,000)."""
        prefix = f"{uuid.UUID(str(owner))}/"

        def purge() -> None:
            pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
            for page in pages:
                keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if keys:
                    self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})

        await asyncio.to_thread(purge)
