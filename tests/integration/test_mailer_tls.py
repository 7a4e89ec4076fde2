"""The mailer against real SMTP servers on loopback: implicit TLS, required STARTTLS with login, doctor."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import trustme

from assetry import cli
from assetry.config import get_settings
from assetry.errors import ProviderError
from assetry.integrations.mailer import Mailer, OutgoingMail
from tests.smtp_server import SmtpServer

SENDER = "Assetry <hello@assetry.test>"
MAIL = OutgoingMail(to="maya@example.com", subject="Hello", text="Plain body", html="<p>Rich body</p>")


@dataclass
class Tls:
    server: ssl.SSLContext
    client: ssl.SSLContext


@pytest.fixture(scope="module")
def tls() -> Tls:
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return Tls(server, client)


@pytest.fixture
def smtps(tls: Tls) -> Iterator[SmtpServer]:
    server = SmtpServer(implicit_tls=tls.server)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def submission(tls: Tls) -> Iterator[SmtpServer]:
    server = SmtpServer(starttls=tls.server, login=("maya@team", "s3cret/pass"))
    server.start()
    yield server
    server.stop()


async def test_implicit_tls(smtps: SmtpServer, tls: Tls) -> None:
    mailer = Mailer.from_url(f"smtps://127.0.0.1:{smtps.port}", SENDER, timeout=5, tls_context=tls.client)
    await mailer.send(MAIL)
    [received] = smtps.inbox
    assert received.subject == "Hello"
    assert received.body("plain").strip() == "Plain body"


async def test_implicit_tls_refuses_an_untrusted_certificate(smtps: SmtpServer) -> None:
    mailer = Mailer.from_url(f"smtps://127.0.0.1:{smtps.port}", SENDER, timeout=5)
    with pytest.raises(ProviderError, match="unreachable"):
        await mailer.send(MAIL)
    assert smtps.inbox == []


async def test_starttls_with_login(submission: SmtpServer, tls: Tls) -> None:
    url = f"smtp://maya%40team:s3cret%2Fpass@127.0.0.1:{submission.port}?starttls=1"
    mailer = Mailer.from_url(url, SENDER, timeout=5, tls_context=tls.client)
    await mailer.send(MAIL)
    assert [r.rcpt_tos for r in submission.inbox] == [["maya@example.com"]]
    assert (await mailer.check()).startswith(f"SMTP at smtp://127.0.0.1:{submission.port}")


async def test_wrong_login_is_a_provider_error(submission: SmtpServer, tls: Tls) -> None:
    url = f"smtp://maya%40team:wrong@127.0.0.1:{submission.port}?starttls=1"
    mailer = Mailer.from_url(url, SENDER, timeout=5, tls_context=tls.client)
    with pytest.raises(ProviderError, match="refused our login"):
        await mailer.send(MAIL)
    with pytest.raises(ProviderError, match="refused the login"):
        await mailer.check()
    assert submission.inbox == []


async def test_doctor_reports_the_mail_server(smtp_server: SmtpServer) -> None:
    ok, detail = await cli._check_mail(get_settings())
    assert ok
    assert detail == f"SMTP at smtp://127.0.0.1:{smtp_server.port}, sending as Assetry <hello@assetry.test>"
    smtp_server.stop()
    ok, detail = await cli._check_mail(get_settings())
    assert not ok
    assert f"smtp://127.0.0.1:{smtp_server.port} unreachable" in detail
