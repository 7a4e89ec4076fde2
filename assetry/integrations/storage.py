"""A user's stored files behind one interface: a local folder (embedded default) or S3-compatible
storage (Supabase Storage's S3 endpoint, or any S3 API) with a private bucket.

Two kinds of file, both under their owner's id, so one prefix holds everything of a person:
generated media, `<user id>/<generation id>/<n>.<ext>`, and data export archives,
`<user id>/exports/<export id>.zip`. Nothing is listable and nothing is public: a file reaches
its owner only after the app checked who asks (`assetry.web`), then either through the app
(local folder) or through a presigned, expiring link to the bucket (`link`).

Big files never sit in memory: reads come in chunks, and an `Upload` takes its bytes in order
and keeps at most a few parts (S3 multipart upload) or nothing (local file) in memory. A reader
sees an upload only once it is committed; a discarded one leaves nothing behind.

Errors: `BadInput` for a malformed key; `FileNotFoundError` for a missing file;
`StorageUnavailable` (a `ProviderError`, so jobs retry it) when the bucket cannot be reached or
answers with a server error.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TypeVar

from assetry.errors import BadInput, ProviderError

log = logging.getLogger(__name__)

_UUID = "[0-9a-f-]{36}"
_KEY = re.compile(rf"^{_UUID}/({_UUID}/[0-9]{{1,3}}\.(png|webp|jpg|mp4|cover\.webp)|exports/{_UUID}\.zip)$")
CHUNK = 256 * 1024
COPY_CHUNK = 1024 * 1024
# S3 multipart: every part but the last must be at least 5 MiB, and there are at most 10,000 parts
# (so 8 MiB parts allow archives up to 80 GB). Memory held by one upload: the part being filled
# plus the parts in flight.
PART_BYTES = 8 * 1024 * 1024
PARTS_IN_FLIGHT = 3
NOT_FOUND = ("404", "NoSuchKey", "NotFound")  # S3's codes for a missing object

T = TypeVar("T")


class StorageUnavailable(ProviderError):
    """The object storage could not be reached, or failed on its side."""

    def __init__(self) -> None:
        super().__init__("The file storage could not be reached.")


def check_key(key: str) -> str:
    """Refuse anything but our own key shapes (no traversal, no listing tricks)."""
    if not _KEY.match(key):
        raise BadInput("That media key is not valid.")
    return key


def export_key(owner: uuid.UUID, export_id: uuid.UUID) -> str:
    """Where the archive of one data export is kept (under its owner, like their media)."""
    return f"{uuid.UUID(str(owner))}/exports/{uuid.UUID(str(export_id))}.zip"


class Upload(Protocol):
    """A file being written from a worker thread, in order: `write` … then `commit` or `discard`."""

    def write(self, data: bytes) -> int: ...

    def tell(self) -> int: ...

    def flush(self) -> None: ...

    def commit(self) -> int: ...

    def discard(self) -> None: ...


class MediaStore(Protocol):
    async def put(self, key: str, content: bytes, content_type: str) -> None: ...

    async def size(self, key: str) -> int | None: ...

    def stream(self, key: str) -> AsyncIterator[bytes]: ...

    def open_read(self, key: str) -> BinaryIO:
        """The file, to read from a worker thread (and close); FileNotFoundError when it is gone."""
        ...

    def open_upload(self, key: str, content_type: str) -> Upload: ...

    def link(
        self, key: str, *, filename: str, content_type: str, download: bool, ttl_seconds: int
    ) -> str | None:
        """A presigned, expiring URL that serves the file itself, or None when the app serves it."""
        ...

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

    def open_read(self, key: str) -> BinaryIO:
        return self.path(key).open("rb")

    def open_upload(self, key: str, content_type: str) -> Upload:
        return _LocalUpload(self.path(key))

    def link(self, key: str, *, filename: str, content_type: str, download: bool, ttl_seconds: int) -> None:
        return None  # the app streams local files itself, behind its own signed URLs

    async def delete(self, key: str) -> None:
        path = self.path(key)
        await asyncio.to_thread(path.unlink, missing_ok=True)

    async def delete_owner(self, owner: uuid.UUID) -> None:
        """Every file of one user (all their keys start with their id); nothing if there is none."""
        folder = self.root / str(uuid.UUID(str(owner)))
        await asyncio.to_thread(shutil.rmtree, folder, ignore_errors=True)


class _LocalUpload:
    """Written to `<name>.part` beside the file, renamed over it on commit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.partial = path.with_suffix(path.suffix + ".part")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = self.partial.open("wb")

    def write(self, data: bytes) -> int:
        return self._handle.write(data)

    def tell(self) -> int:
        return self._handle.tell()

    def flush(self) -> None:
        self._handle.flush()

    def commit(self) -> int:
        size = self._handle.tell()
        self._handle.close()
        self.partial.replace(self.path)
        return size

    def discard(self) -> None:
        self._handle.close()
        self.partial.unlink(missing_ok=True)


class S3MediaStore:
    """A private bucket on an S3-compatible API (boto3, run off the event loop).

    `public_endpoint` is the bucket's address as browsers reach it, when it differs from the one
    the app uses (a container network name, say): presigned links are signed for that host.
    """

    def __init__(
        self,
        *,
        endpoint_url: str,
        bucket: str,
        access_key: str,
        secret_key: str,
        region: str,
        public_endpoint: str | None = None,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket

        def client(endpoint: str):
            return boto3.client(
                "s3",
                endpoint_url=endpoint,
                aws_access_key_id=access_key,
                aws_secret_access_key=secret_key,
                region_name=region,
                config=Config(
                    s3={"addressing_style": "path"},
                    signature_version="s3v4",
                    retries={"max_attempts": 3, "mode": "standard"},
                    connect_timeout=10,
                    read_timeout=60,
                    max_pool_connections=PARTS_IN_FLIGHT + 8,
                    # No extra CRC32 of every byte sent and read, as botocore does by default since
                    # 1.36: TLS already guards the bytes in transit (and on plain HTTP botocore signs
                    # each body's SHA-256), and an export's ZIP carries each file's own CRC32.
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                ),
            )

        self._client = client(endpoint_url)
        self._signer = client(public_endpoint) if public_endpoint else self._client

    def call(self, operation: str, **params: Any) -> Any:
        """One S3 call (blocking), with unreachable storage and server errors as `StorageUnavailable`."""
        return _unavailable_as_ours(lambda: getattr(self._client, operation)(Bucket=self.bucket, **params))

    async def put(self, key: str, content: bytes, content_type: str) -> None:
        await asyncio.to_thread(
            self.call, "put_object", Key=check_key(key), Body=content, ContentType=content_type
        )

    async def check_bucket(self) -> None:
        """Raise botocore's ClientError when the bucket is missing or the keys are refused."""
        await asyncio.to_thread(self._client.head_bucket, Bucket=self.bucket)

    async def size(self, key: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            head = await asyncio.to_thread(self.call, "head_object", Key=check_key(key))
        except ClientError as error:
            if _missing(error):
                return None
            raise
        return int(head["ContentLength"])

    async def stream(self, key: str) -> AsyncIterator[bytes]:
        reply = await asyncio.to_thread(self.call, "get_object", Key=check_key(key))
        body = reply["Body"]
        try:
            while chunk := await asyncio.to_thread(_unavailable_as_ours, lambda: body.read(CHUNK)):
                yield chunk
        finally:
            with contextlib.suppress(Exception):
                body.close()

    def open_read(self, key: str) -> BinaryIO:
        from botocore.exceptions import ClientError

        try:
            body = self.call("get_object", Key=check_key(key))["Body"]
        except ClientError as error:
            if _missing(error):
                raise FileNotFoundError(key) from None
            raise
        return _Download(body)

    def open_upload(self, key: str, content_type: str) -> Upload:
        return _MultipartUpload(self, check_key(key), content_type)

    def link(self, key: str, *, filename: str, content_type: str, download: bool, ttl_seconds: int) -> str:
        disposition = "attachment" if download else "inline"
        return self._signer.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": check_key(key),
                "ResponseContentType": content_type,
                "ResponseContentDisposition": f'{disposition}; filename="{filename}"',
            },
            ExpiresIn=ttl_seconds,
        )

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.call, "delete_object", Key=check_key(key))

    async def delete_owner(self, owner: uuid.UUID) -> None:
        """Every object under one user's prefix (listed and deleted in pages of up to 1,000),
        and any upload of theirs that never finished."""
        from botocore.exceptions import ClientError

        prefix = f"{uuid.UUID(str(owner))}/"

        def unfinished() -> list[dict]:
            try:
                return self._client.list_multipart_uploads(Bucket=self.bucket, Prefix=prefix).get(
                    "Uploads", []
                )
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "NotImplemented":
                    raise
                # A store without this listing: its own rule must expire unfinished uploads (README).
                log.warning("the storage cannot list unfinished uploads; those of %s are left to it", prefix)
                return []

        def purge() -> None:
            pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
            for page in pages:
                keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if keys:
                    self.call("delete_objects", Delete={"Objects": keys, "Quiet": True})
            for upload in unfinished():
                self.call("abort_multipart_upload", Key=upload["Key"], UploadId=upload["UploadId"])

        await asyncio.to_thread(_unavailable_as_ours, purge)


def _missing(error: Exception) -> bool:
    """Whether S3's error says the object is not there."""
    return getattr(error, "response", {}).get("Error", {}).get("Code") in NOT_FOUND


class _Download(io.RawIOBase):
    """An object's body being read, with a failing connection as `StorageUnavailable`."""

    def __init__(self, body) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return _unavailable_as_ours(lambda: self._body.read(size if size >= 0 else None))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._body.close()
        super().close()


class _MultipartUpload:
    """Bytes in, `PART_BYTES` parts out, `PARTS_IN_FLIGHT` of them uploading at once.

    The multipart upload starts with the first full part; a file smaller than one part goes
    up in one PUT on commit. Until `commit` completes the upload, no object exists under the key.
    """

    def __init__(self, store: S3MediaStore, key: str, content_type: str) -> None:
        self.store, self.key, self.content_type = store, key, content_type
        # Each part is filled in place and sent as it is (one copy per byte); the buffer of a part
        # that went up is filled again (no fresh 8 MB to allocate and zero for every part).
        self._part = bytearray(PART_BYTES)
        self._filled = 0
        self._written = 0
        self._upload_id: str | None = None
        self._parts: list[tuple[int, Future]] = []
        self._sending: list[tuple[Future, bytearray]] = []
        self._pool: ThreadPoolExecutor | None = None

    def write(self, data: bytes) -> int:
        with memoryview(data) as view:
            taken = 0
            while taken < len(view):
                piece = view[taken : taken + len(self._part) - self._filled]
                self._part[self._filled : self._filled + len(piece)] = piece
                self._filled += len(piece)
                taken += len(piece)
                if self._filled == len(self._part):
                    self._part, self._filled = self._send(self._part), 0
        self._written += taken
        return taken

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        pass  # parts go up as they fill; the rest on commit

    def _send(self, part: bytearray) -> bytearray:
        """Start uploading `part`; returns a buffer for the next one once fewer than
        `PARTS_IN_FLIGHT` are uploading (a failed part fails the upload now, not at the end)."""
        if self._upload_id is None:
            started = self.store.call("create_multipart_upload", Key=self.key, ContentType=self.content_type)
            self._upload_id = started["UploadId"]
            self._pool = ThreadPoolExecutor(PARTS_IN_FLIGHT, thread_name_prefix="s3-part")
        number = len(self._parts) + 1
        future = self._pool.submit(
            self.store.call,
            "upload_part",
            Key=self.key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=part,
        )
        self._parts.append((number, future))
        self._sending.append((future, part))
        if len(self._sending) > PARTS_IN_FLIGHT:
            wait([sending for sending, _ in self._sending], return_when=FIRST_COMPLETED)
        for sending, _ in self._sending:
            if sending.done() and sending.exception() is not None:
                raise sending.exception()
        done = [buffer for sending, buffer in self._sending if sending.done()]
        self._sending = [(sending, buffer) for sending, buffer in self._sending if not sending.done()]
        return done[0] if done else bytearray(PART_BYTES)

    def commit(self) -> int:
        try:
            rest = self._part[: self._filled]
            if self._upload_id is None:
                self.store.call("put_object", Key=self.key, Body=rest, ContentType=self.content_type)
            else:
                if rest:
                    self._send(rest)
                parts = [
                    {"PartNumber": number, "ETag": future.result()["ETag"]} for number, future in self._parts
                ]
                self.store.call(
                    "complete_multipart_upload",
                    Key=self.key,
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": parts},
                )
        except BaseException:
            self.discard()
            raise
        self._close_pool()
        self._part, self._filled, self._sending = bytearray(), 0, []
        return self._written

    def discard(self) -> None:
        self._part, self._filled, self._sending = bytearray(), 0, []
        self._close_pool(cancel=True)
        if self._upload_id is not None:
            try:
                self.store.call("abort_multipart_upload", Key=self.key, UploadId=self._upload_id)
            except Exception:  # storage down: the parts stay invisible; the owner's purge aborts them
                log.warning("an unfinished upload to %s could not be aborted", self.key, exc_info=True)
            self._upload_id = None

    def _close_pool(self, *, cancel: bool = False) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=cancel)
            self._pool = None


def _unavailable_as_ours(call: Callable[[], T]) -> T:
    """Run a blocking S3 call; connection failures and 5xx answers become `StorageUnavailable`."""
    from botocore.exceptions import ClientError, HTTPClientError, IncompleteReadError
    from botocore.exceptions import ConnectionError as Unreachable
    from urllib3.exceptions import HTTPError as TransportError

    try:
        return call()
    except ClientError as error:
        if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
            raise StorageUnavailable() from error
        raise
    except (Unreachable, HTTPClientError, IncompleteReadError, TransportError) as error:
        raise StorageUnavailable() from error
