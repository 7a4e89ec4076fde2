"""Sending one rendered email through an SMTP server (aiosmtplib). No database access.

The server comes from `SMTP_URL`:

- `smtp://user:pass@host:587?starttls=1`: plain connection upgraded with STARTTLS
  (required; `starttls=0` never upgrades; without the parameter the connection is
  upgraded when the server offers it).
- `smtps://user:pass@host:465`: TLS from the first byte.
- `?timeout=20`: seconds for each network step (default `SMTP_TIMEOUT_S`).

User name and password are percent-decoded. Errors map to the project's own:

- `BadInput`: the server refused the recipient address for good (5xx); retrying
  will not help.
- `ProviderError`: everything else that went wrong (unreachable, timed out, 4xx
  "try later", refused our login or sender, dropped the connection). The caller
  retries later.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from assetry.errors import BadInput, ProviderError

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


@dataclass(frozen=True)
class OutgoingMail:
    """One message ready to send: a single recipient, a plain-text and an HTML body."""

    to: str
    subject: str
    text: str
    html: str = ""
    # A stable Message-ID lets receivers drop a duplicate if a retry resends it.
    message_id: str | None = None


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to connect, parsed from an SMTP URL."""

    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool
    start_tls: bool | None
    timeout: float

    @property
    def display(self) -> str:
        """The server without its credentials, safe to print."""
        scheme = "smtps" if self.implicit_tls else "smtp"
        return f"{scheme}://{self.host}:{self.port}"


def parse_smtp_url(url: str, *, timeout: float = 30.0) -> SmtpServer:
    """Read an `smtp://` or `smtps://` URL; ValueError names what is wrong (never the password)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError("SMTP_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("SMTP_URL has no host name")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise ValueError("SMTP_URL has a port that is not a number from 1 to 65535") from None
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    start_tls: bool | None = None
    if "starttls" in query:
        start_tls = query["starttls"].lower() in ("1", "true", "yes", "on")
    if scheme == "smtps":
        start_tls = False  # already encrypted from the first byte
    if "timeout" in query:
        try:
            timeout = float(query["timeout"])
        except ValueError:
            raise ValueError("SMTP_URL's timeout must be a number of seconds") from None
    return SmtpServer(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        implicit_tls=scheme == "smtps",
        start_tls=start_tls,
        timeout=timeout,
    )


class Mailer:
    """Sends `OutgoingMail` from `sender` through one SMTP server."""

    def __init__(self, server: SmtpServer, sender: str, *, tls_context: ssl.SSLContext | None = None):
        if "@" not in parseaddr(sender)[1]:
            raise ValueError("MAIL_FROM must be an address, like 'Assetry <no-reply@example.com>'")
        self.server = server
        self.sender = sender
        self._tls_context = tls_context

    @classmethod
    def from_url(cls, url: str, sender: str, *, timeout: float = 30.0, **kwargs) -> Mailer:
        return cls(parse_smtp_url(url, timeout=timeout), sender, **kwargs)

    def build(self, mail: OutgoingMail) -> EmailMessage:
        """The MIME message: text first, HTML as the alternative the client prefers."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = " ".join(mail.subject.split())  # never a header line break
        message["Date"] = formatdate(localtime=False, usegmt=True)
        if mail.message_id:
            message["Message-ID"] = mail.message_id
        message.set_content(mail.text)
        if mail.html:
            message.add_alternative(mail.html, subtype="html")
        return message

    async def send(self, mail: OutgoingMail) -> None:
        """Hand the message to the server; raises BadInput or ProviderError (see the module)."""
        message = self.build(mail)
        try:
            await aiosmtplib.send(message, **self._connection())
        except aiosmtplib.SMTPRecipientsRefused as refused:
            codes = [r.code for r in refused.recipients]
            if codes and all(500 <= code < 600 for code in codes):
                raise BadInput(
                    f"The mail server refused the address {mail.to}: {refused.recipients[0].message}"
                ) from None
            raise ProviderError(f"The mail server deferred {mail.to}; trying again later.") from None
        except aiosmtplib.SMTPRecipientRefused as refused:
            if 500 <= refused.code < 600:
                raise BadInput(f"The mail server refused the address {mail.to}: {refused.message}") from None
            raise ProviderError(f"The mail server deferred {mail.to}; trying again later.") from None
        except aiosmtplib.SMTPAuthenticationError as error:
            raise ProviderError(
                f"The mail server at {self.server.display} refused our login ({error.code}). Check SMTP_URL."
            ) from None
        except aiosmtplib.SMTPSenderRefused as error:
            raise ProviderError(
                f"The mail server refused the sender {error.sender} ({error.code}). Check MAIL_FROM."
            ) from None
        except aiosmtplib.SMTPResponseException as error:
            raise ProviderError(
                f"The mail server at {self.server.display} answered {error.code}: {error.message}"
            ) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            detail = str(error) or type(error).__name__
            raise ProviderError(
                f"The mail server at {self.server.display} is unreachable: {detail}"
            ) from None

    async def check(self) -> str:
        """Connect, greet and log in, send nothing; a line for `doctor`. Raises ProviderError."""
        client = aiosmtplib.SMTP(**self._client_options())
        try:
            await client.connect()
            if self.server.username:
                await client.login(self.server.username, self.server.password or "")
        except aiosmtplib.SMTPAuthenticationError as error:
            raise ProviderError(
                f"{self.server.display} refused the login in SMTP_URL ({error.code})"
            ) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise ProviderError(
                f"{self.server.display} unreachable: {error or type(error).__name__}"
            ) from None
        finally:
            if client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError):
                    client.close()
        return f"SMTP at {self.server.display}, sending as {self.sender}"

    def _client_options(self) -> dict:
        options: dict = {
            "hostname": self.server.host,
            "port": self.server.port,
            "use_tls": self.server.implicit_tls,
            "start_tls": self.server.start_tls,
            "timeout": self.server.timeout,
        }
        if self._tls_context is not None:
            options["tls_context"] = self._tls_context
        return options

    def _connection(self) -> dict:
        options = self._client_options()
        if self.server.username:
            options["username"] = self.server.username
            options["password"] = self.server.password or ""
        return options
