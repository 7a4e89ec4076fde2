"""Servers the integration tests share: imitations of external APIs on 127.0.0.1."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator

import pytest
import trustme

from assetry.config import get_settings
from assetry.sandbox.fal import FalImitation
from assetry.sandbox.instagram import InstagramImitation
from assetry.sandbox.tiktok import TikTokImitation
from assetry.services import platforms
from tests.asgi_server import listening_socket, serve
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

    sock = listening_socket()
    port = sock.getsockname()[1]
    imitation = FalImitation(files_url=f"https://localhost:{port}")
    trust = ssl.create_default_context()
    ca.configure_trust(trust)
    ca_file = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with serve(imitation.app, sock=sock, ssl_certfile=str(cert_file), ssl_keyfile=str(key_file)) as url:
        yield Served(imitation, url, trust, ca_file)


@pytest.fixture
def tiktok() -> TikTokImitation:
    """The app's sandbox TikTok (one a process, which other tests use too), as new: no faults, no
    rate limit, nothing counted or recorded."""
    imitation = platforms.sandbox("tiktok")
    imitation.faults.clear()
    imitation.rate_limit_per_minute = None
    imitation.counters.clear()
    imitation.requests.clear()
    return imitation


@pytest.fixture
def instagram() -> InstagramImitation:
    """The app's sandbox Instagram (one a process, which other tests use too), nothing recorded."""
    imitation = platforms.sandbox("instagram")
    imitation.faults.clear()
    imitation.requests.clear()
    return imitation


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
