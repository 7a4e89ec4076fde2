"""Object storage for tests: moto's S3 server on loopback (a real HTTP server, spoken to with
boto3), a fresh private bucket per test, and a TCP link in front of it that a test can cut.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

from tests.asgi_server import free_port

ACCESS_KEY, SECRET_KEY, REGION = "test-key", "test-secret", "us-east-1"


@contextlib.contextmanager
def moto_s3() -> Iterator[str]:
    """moto's S3 server on a free loopback port; yields its endpoint."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )


@dataclass
class Bucket:
    """A bucket as the test sees it, straight from the server (never through the app)."""

    endpoint: str
    name: str

    def keys(self, prefix: str = "") -> list[str]:
        found = client(self.endpoint).list_objects_v2(Bucket=self.name, Prefix=prefix)
        return sorted(item["Key"] for item in found.get("Contents", []))

    def unfinished_uploads(self, prefix: str = "") -> list[str]:
        found = client(self.endpoint).list_multipart_uploads(Bucket=self.name, Prefix=prefix)
        return [upload["Key"] for upload in found.get("Uploads", [])]

    def read(self, key: str) -> bytes:
        return client(self.endpoint).get_object(Bucket=self.name, Key=key)["Body"].read()

    def delete(self, key: str) -> None:
        client(self.endpoint).delete_object(Bucket=self.name, Key=key)


def new_bucket(endpoint: str) -> Bucket:
    bucket = Bucket(endpoint, f"assetry-test-{uuid.uuid4().hex[:12]}")
    client(endpoint).create_bucket(Bucket=bucket.name)
    return bucket


def storage_settings(endpoint: str, bucket: str) -> dict[str, str]:
    """The environment that points the app's media and export storage at this bucket."""
    return {
        "MEDIA_S3_ENDPOINT": endpoint,
        "MEDIA_S3_BUCKET": bucket,
        "MEDIA_S3_ACCESS_KEY": ACCESS_KEY,
        "MEDIA_S3_SECRET_KEY": SECRET_KEY,
        "MEDIA_S3_REGION": REGION,
    }


class CuttableLink:
    """A TCP relay to `upstream_port` on loopback that fails like a dead network when cut.

    `cut_after(n)`: once `n` more bytes went upstream, every open connection is closed and
    new ones are closed as soon as they arrive, until `heal()`.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._budget: int | None = None
        self._open: set[socket.socket] = set()
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def is_cut(self) -> bool:
        return self._budget is not None and self._budget <= 0

    def cut_after(self, n: int) -> None:
        with self._lock:
            self._budget = n
        if n <= 0:
            self._close_all()

    def heal(self) -> None:
        with self._lock:
            self._budget = None

    def close(self) -> None:
        self._stopped = True
        self._listener.close()
        self._close_all()

    def _close_all(self) -> None:
        with self._lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                downstream, _ = self._listener.accept()
            except OSError:
                return
            if self.is_cut:
                downstream.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self._lock:
                self._open |= {downstream, upstream}
            threading.Thread(target=self._pump, args=(downstream, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, downstream, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, counted: bool) -> None:
        try:
            while chunk := source.recv(65536):
                if counted:
                    with self._lock:
                        if self._budget is not None:
                            self._budget -= len(chunk)
                    if self.is_cut:
                        break
                target.sendall(chunk)
        except OSError:
            pass
        if self.is_cut:
            self._close_all()
            return
        for sock in (source, target):  # one side hung up: so does the other
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with self._lock:
            self._open.discard(source)
        source.close()
