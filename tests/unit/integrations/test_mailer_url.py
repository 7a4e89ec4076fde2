"""SMTP_URL parsing and message building (no server needed)."""

from __future__ import annotations

import pytest

from assetry.integrations.mailer import Mailer, OutgoingMail, parse_smtp_url


@pytest.mark.parametrize(
    ("url", "host", "port", "implicit_tls", "start_tls"),
    [
        ("smtp://mail.example.com", "mail.example.com", 25, False, None),
        ("smtp://mail.example.com:587?starttls=1", "mail.example.com", 587, False, True),
        ("smtp://mail.example.com:2525?starttls=0", "mail.example.com", 2525, False, False),
        ("smtps://mail.example.com", "mail.example.com", 465, True, False),
        ("SMTPS://mail.example.com:4650?starttls=1", "mail.example.com", 4650, True, False),
    ],
)
def test_parse_hosts_ports_and_tls(url, host, port, implicit_tls, start_tls) -> None:
    server = parse_smtp_url(url)
    assert (server.host, server.port, server.implicit_tls, server.start_tls) == (
        host,
        port,
        implicit_tls,
        start_tls,
    )


def test_credentials_are_percent_decoded_and_never_displayed() -> None:
    server = parse_smtp_url("smtp://apikey%40team:p%40ss%2Fw0rd@smtp.example.com:587?timeout=7.5")
    assert (server.username, server.password, server.timeout) == ("apikey@team", "p@ss/w0rd", 7.5)
    assert server.display == "smtp://smtp.example.com:587"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://mail.example.com", "must start with smtp://"),
        ("smtp://", "no host name"),
        ("smtp://mail.example.com:99999", "port"),
        ("smtp://mail.example.com?timeout=soon", "timeout"),
    ],
)
def test_bad_urls_say_what_is_wrong(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_smtp_url(url)


def test_sender_must_be_an_address() -> None:
    with pytest.raises(ValueError, match="MAIL_FROM"):
        Mailer(parse_smtp_url("smtp://localhost"), "Assetry")


def test_message_has_both_bodies_and_one_subject_line() -> None:
    mailer = Mailer(parse_smtp_url("smtp://localhost"), "Assetry <hello@assetry.test>")
    built = mailer.build(
        OutgoingMail(to="maya@example.com", subject="Hello\r\nBcc: x@y", text="plain", html="<p>rich</p>")
    )
    assert built["Subject"] == "Hello Bcc: x@y"
    assert built["Bcc"] is None
    assert built.get_body(("plain",)).get_content().strip() == "plain"
    assert built.get_body(("html",)).get_content().strip() == "<p>rich</p>"
