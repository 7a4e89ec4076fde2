"""Servers the integration tests share: imitations of external APIs on 127.0.0.1."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import trustme
import uvicorn

from assetry.config import get_settings
from assetry.sandbox.fal import FalImitation
from tests.integration.servers import Served
from tests.object_storage import Bucket, moto_s3, new_bucket, storage_settings
from tests.raw_socket import record_policies, serve_backend
from tests.smtp_server import SmtpServer


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The imitation on https://127.0.0.1:<free port>, for the whole module."""
    ca = trustme.CA()
    certificate = ca.issue_cert("127.0.0.1", "localhost")
    folder = tmp_path_factory.mktemp("fal-tls")
    cert_file, key_file = folder / "server.pem", folder / "server.key"
    certificate.cert_chain_pems[0].write_to_path(str(cert_file))
    certificate.private_key_pem.write_to_path(str(key_file))

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    imitation = FalImitation(files_url=f"https://localhost:{port}")
    server = uvicorn.Server(
        uvicorn.Config(
            imitation.app,
            ssl_certfile=str(cert_file),
            ssl_keyfile=str(key_file),
            lifespan="off",
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the fal imitation did not start"
        time.sleep(0.02)

    trust = ssl.create_default_context()
    ca.configure_trust(trust)
    ca_file = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    yield Served(imitation, f"https://127.0.0.1:{port}", trust, ca_file)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 that the app is configured to send through (SMTP_URL)."""
    server = SmtpServer()
    server.start()
    monkeypatch.setenv("SMTP_URL", server.url)
    monkeypatch.setenv("MAIL_FROM", "Assetry <hello@assetry.test>")
    get_settings.cache_clear()
    yield server
    server.stop()
    get_settings.cache_clear()


@pytest.fixture
async def backend(database: str, monkeypatch: pytest.MonkeyPatch, tmp_path) -> AsyncIterator[str]:
    """The app's backend served for real on a free port, job worker included (`tests.raw_socket`)."""
    await record_policies()
    async with serve_backend(monkeypatch, str(tmp_path)) as url:
        yield url


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on loopback, shared by the tests of one process."""
    with moto_s3() as endpoint:
        yield endpoint


@pytest.fixture
def s3_storage(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bucket]:
    """Media and exports in a fresh private bucket of the moto server (MEDIA_S3_* set)."""
    bucket = new_bucket(s3_endpoint)
    for name, value in storage_settings(s3_endpoint, bucket.name).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield bucket
    get_settings.cache_clear()
