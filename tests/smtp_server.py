"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, and can go down.

The integration tests send through it; the e2e app is configured with it (SMTP_URL) for a whole run.
"""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    """One message as the server got it."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def body(self, subtype: str = "plain") -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        return part.get_content().replace("\r\n", "\n") if part is not None else ""


@dataclass
class _Handler:
    inbox: list[Received] = field(default_factory=list)
    # Addresses answered with "550 no such user" at RCPT TO.
    refused: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        parsed = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        self.inbox.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on a free loopback port; `stop()` makes it unreachable, `start()` brings it back.

    `implicit_tls`: TLS from the first byte (smtps). `starttls`: offers STARTTLS and
    requires it. `login`: the only (user, password) AUTH accepts, and then requires.
    """

    def __init__(
        self,
        *,
        implicit_tls: ssl.SSLContext | None = None,
        starttls: ssl.SSLContext | None = None,
        login: tuple[str, str] | None = None,
    ) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._handler = _Handler()
        self._controller: Controller | None = None
        self._options: dict = {}
        if implicit_tls is not None:
            self._options["ssl_context"] = implicit_tls
        if starttls is not None:
            self._options |= {"tls_context": starttls, "require_starttls": True}
        if login is not None:
            self._options |= {"authenticator": _Authenticator(*login), "auth_required": True}

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?starttls=0&timeout=5"

    @property
    def inbox(self) -> list[Received]:
        return self._handler.inbox

    @property
    def refused(self) -> set[str]:
        return self._handler.refused

    def last_mail_to(self, address: str, *, subject: str = "", timeout_s: float = 30) -> Received:
        """The newest message to `address` (whose subject contains `subject`), waiting for one to arrive."""
        deadline = time.monotonic() + timeout_s
        while True:
            for received in reversed(list(self.inbox)):
                if address in received.rcpt_tos and subject in received.subject:
                    return received
            if time.monotonic() > deadline:
                got = [(r.rcpt_tos, r.subject) for r in self.inbox]
                raise AssertionError(f"No mail to {address} ({subject!r}) in {timeout_s:.0f} s; got {got}")
            time.sleep(0.1)

    def start(self) -> None:
        if self._controller is None:
            self._controller = Controller(
                self._handler, hostname="127.0.0.1", port=self.port, **self._options
            )
            self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@dataclass
class _Authenticator:
    user: str
    password: str

    def __call__(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode(),
            auth_data.password.decode(),
        ) == (self.user, self.password)
        return AuthResult(success=ok, handled=False)
