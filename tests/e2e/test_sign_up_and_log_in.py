"""Accounts in the browser: sign up, log out, log in, change password, and bad input."""

from __future__ import annotations

import base64
import http.client
import os
import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.browser import (
    SIGN_UP_SENT,
    SIGN_UP_SUBJECT,
    STRONG_PASSWORD,
    fill_sign_up,
    log_in,
    new_email,
    open_sign_up_link,
    path_is,
    sign_up,
    sign_up_mails,
    visit,
    wait_for_sign_up_mail,
    wait_until,
)
from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.e2e

WRONG_CREDENTIALS = "That email and password don't match an account."
NEW_PASSWORD = "Lantern-Meadow-77"


def _alert(page: Page):
    return page.get_by_role("alert")


def test_sign_up_log_out_log_in_and_change_password(page: Page) -> None:
    email = new_email("journey")
    sign_up(page, email=email, name="Rina Putri", in_eu=True)
    expect(page.get_by_role("heading", name="Welcome, Rina Putri")).to_be_visible()

    page.get_by_role("button", name="Log out", exact=True).click()
    expect(page).to_have_url(path_is("/"))
    expect(page.get_by_role("link", name="Sign up")).to_be_visible()

    log_in(page, email)
    expect(page).to_have_url(path_is("/home"))
    expect(page.get_by_role("heading", name="Welcome, Rina Putri")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    expect(page).to_have_url(path_is("/settings"))
    expect(page.locator("#current-email")).to_have_text(email)
    page.get_by_label("Current password").fill(STRONG_PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#password").get_by_role("status")).to_have_text(
        "Password changed. Other browsers signed in to your account were logged out."
    )
    expect(page.get_by_label("Current password")).to_have_value("")

    page.get_by_role("button", name="Log out", exact=True).click()
    expect(page).to_have_url(path_is("/"))

    log_in(page, email, STRONG_PASSWORD)
    expect(_alert(page)).to_have_text(WRONG_CREDENTIALS)
    expect(page).to_have_url(path_is("/login"))
    expect(page.get_by_label("Password")).to_have_value("")

    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.locator("form").get_by_role("button", name="Log in").click()
    expect(page).to_have_url(path_is("/home"))
    expect(page.get_by_role("heading", name="Welcome, Rina Putri")).to_be_visible()


def test_the_app_opened_at_127_0_0_1_moves_to_localhost_and_log_in_works(
    page: Page, base_url: str, browser_errors: list[str]
) -> None:
    """PUBLIC_URL says localhost; people also type 127.0.0.1 (the same server, another origin)."""
    email = sign_up(page, name="Loopback Lee")
    page.get_by_role("button", name="Log out", exact=True).click()
    expect(page).to_have_url(path_is("/"))
    alias = base_url.replace("://localhost:", "://127.0.0.1:")
    assert alias != base_url
    log_in(page, email, at=alias)
    expect(page).to_have_url(re.compile(rf"^{re.escape(base_url)}/home/?$"))
    expect(page.get_by_role("heading", name="Welcome, Loopback Lee")).to_be_visible()
    # The websocket was never refused (a 403 is a console error; the fixture fails the test on any).
    assert not browser_errors


def test_change_password_refuses_a_wrong_current_password(page: Page) -> None:
    sign_up(page)
    visit(page, "/settings")
    page.get_by_label("Current password").fill("Not-The-Password-1")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(_alert(page)).to_have_text("Your current password is not right.")
    expect(page.locator("#password").get_by_role("status")).to_have_count(0)


def test_the_eu_checkbox_raises_the_minimum_age_to_16(page: Page) -> None:
    visit(page, "/signup")
    expect(page.get_by_text("I am at least 13 years old")).to_be_visible()
    page.get_by_role("checkbox", name="I live in the European Union").click()
    expect(page.get_by_text("I am at least 16 years old")).to_be_visible()
    expect(page.get_by_text("I am at least 13 years old")).to_have_count(0)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("weak password", "Choose a stronger password. Use at least 10 characters."),
        ("no age confirmation", "Please confirm you are at least 13 years old."),
        ("no age confirmation in the EU", "Please confirm you are at least 16 years old."),
        ("policies not accepted", "Please accept the privacy policy and the terms to create an account."),
        ("malformed email", "That email address doesn't look right"),
    ],
)
def test_sign_up_refuses_bad_input(page: Page, case: str, message: str) -> None:
    form = {"email": new_email("refused")}
    if case == "weak password":
        form["password"] = "short1A"
    elif case == "no age confirmation":
        form["confirm_age"] = False
    elif case == "no age confirmation in the EU":
        form.update(confirm_age=False, in_eu=True)
    elif case == "policies not accepted":
        form["accept"] = False
    elif case == "malformed email":
        # Passes the browser's own type=email check, fails the server's.
        form["email"] = "someone@localhost"
    fill_sign_up(page, **form)
    expect(_alert(page)).to_contain_text(message)
    expect(page).to_have_url(path_is("/signup"))
    expect(page.get_by_label("Email")).to_have_value(form["email"])


def test_a_taken_address_gets_the_same_answer_and_its_owner_an_email(page: Page, mailbox: SmtpServer) -> None:
    taken = sign_up(page)
    page.get_by_role("button", name="Log out", exact=True).click()
    expect(page).to_have_url(path_is("/"))
    fresh = new_email("fresh")
    answers = []
    for email in (taken, fresh):
        fill_sign_up(page, email=email, password="Other-Person-2026")
        status = page.get_by_role("status")
        expect(status).to_contain_text(f"{SIGN_UP_SENT} We sent a message to {email}")
        answers.append(status.inner_text().replace(email, "X"))
        expect(_alert(page)).to_have_count(0)
    assert answers[0] == answers[1]
    body = mailbox.last_mail_to(taken, subject="Someone tried to sign up with your email").body()
    assert "/login" in body and "/reset" in body
    assert "/signup/confirm/" in mailbox.last_mail_to(fresh, subject=SIGN_UP_SUBJECT).body()
    # The owner's password still works, the stranger's does not.
    log_in(page, taken, "Other-Person-2026")
    expect(_alert(page)).to_have_text(WRONG_CREDENTIALS)
    log_in(page, taken)
    expect(page).to_have_url(path_is("/home"))


def test_an_unconfirmed_account_is_asked_to_open_its_link_and_can_get_it_again(page: Page) -> None:
    email = new_email("waiting")
    fill_sign_up(page, email=email, name="Waiting")
    expect(page.get_by_role("status")).to_contain_text(SIGN_UP_SENT)
    wait_for_sign_up_mail(email)  # the mail is read, not the link opened
    log_in(page, email)
    expect(_alert(page)).to_contain_text("Confirm your email first — we sent you a link")
    expect(page).to_have_url(path_is("/login"))
    sent = sign_up_mails(email)
    page.get_by_role("button", name="Send the link again").click()
    expect(page.get_by_role("status")).to_have_text(f"We sent a new link to {email}. It works for 24 hours.")
    wait_until(lambda: sign_up_mails(email) > sent, timeout_s=30, what="the new link's email")
    open_sign_up_link(page, email)
    expect(page).to_have_url(path_is("/home"))
    expect(page.get_by_role("heading", name="Welcome, Waiting")).to_be_visible()


def test_a_name_with_markup_is_shown_as_text(page: Page) -> None:
    name = "<b>x</b>'; DROP TABLE users;--"
    sign_up(page, name=name)
    heading = page.get_by_role("heading", name="Welcome,")
    expect(heading).to_have_text(f"Welcome, {name}")
    expect(heading.locator("b")).to_have_count(0)
    # The users table is still there: the same account logs in again.
    page.get_by_role("button", name="Log out", exact=True).click()
    expect(page).to_have_url(path_is("/"))


def test_log_in_with_a_wrong_password_is_refused(page: Page) -> None:
    email = new_email("wrong")
    sign_up(page, email=email)
    page.get_by_role("button", name="Log out", exact=True).click()
    expect(page).to_have_url(path_is("/"))
    log_in(page, email, "Wrong-Password-99")
    expect(_alert(page)).to_have_text(WRONG_CREDENTIALS)
    expect(page).to_have_url(path_is("/login"))


def test_log_in_with_an_unknown_email_gets_the_same_message(page: Page) -> None:
    log_in(page, new_email("nobody"), STRONG_PASSWORD)
    expect(_alert(page)).to_have_text(WRONG_CREDENTIALS)


def test_home_needs_a_session(page: Page) -> None:
    page.goto("/home")
    expect(page).to_have_url(path_is("/login"))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def test_a_tampered_session_cookie_leads_to_the_login_page(page: Page, context: BrowserContext) -> None:
    sign_up(page, name="Tamper")
    expect(page.get_by_role("heading", name="Welcome, Tamper")).to_be_visible()
    cookie = next(c for c in context.cookies() if c["name"] == "assetry_session")
    value = cookie["value"]
    for forged in (value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB"), "x" * 500):
        context.add_cookies([{**cookie, "value": forged}])
        # A new tab: nothing but the cookie says who this is.
        tab = context.new_page()
        tab.goto("/settings")
        expect(tab).to_have_url(path_is("/login"))
        expect(tab.get_by_role("heading", name="Log in")).to_be_visible()
        tab.close()


def test_the_session_cookie_is_http_only_lax_and_only_the_server_touches_it(
    page: Page, context: BrowserContext
) -> None:
    sign_up(page, name="Cookie")
    expect(page.get_by_role("heading", name="Welcome, Cookie")).to_be_visible()
    cookies = context.cookies()
    assert [(c["name"], c["httpOnly"], c["sameSite"], c["path"]) for c in cookies] == [
        ("assetry_session", True, "Lax", "/")
    ]
    assert cookies[0]["secure"] is False  # the test server is http://localhost; https turns it on
    assert page.evaluate("document.cookie") == ""  # page scripts cannot read it

    page.get_by_role("button", name="Log out", exact=True).click()
    expect(page).to_have_url(path_is("/"))
    expect(page.get_by_role("link", name="Sign up")).to_be_visible()
    assert context.cookies() == []


def _websocket_handshake(app_url: str, *, origin: str, cookie: str) -> int:
    """Open the app's websocket with this Origin and cookie, as a page on `origin` would; the status."""
    parts = urlsplit(app_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request(
            "GET",
            "/_event/?EIO=4&transport=websocket",
            headers={
                "Upgrade": "websocket",
                "Connection": "Upgrade",
                "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
                "Origin": origin,
                "Cookie": f"assetry_session={cookie}",
            },
        )
        return connection.getresponse().status
    finally:
        connection.close()


def test_a_page_on_another_site_cannot_open_a_socket_with_the_users_cookie(
    page: Page, context: BrowserContext, base_url: str
) -> None:
    """Cross-site websocket hijacking: the handshake carries the cookie, so its Origin is checked."""
    sign_up(page)
    cookie = next(c["value"] for c in context.cookies() if c["name"] == "assetry_session")
    assert _websocket_handshake(base_url, origin=base_url, cookie=cookie) == 101
    assert _websocket_handshake(base_url, origin="https://elsewhere.example", cookie=cookie) == 403


def test_only_our_own_session_cookie_and_no_third_party_requests(page: Page, context: BrowserContext) -> None:
    """The policy: "one session cookie to keep you signed in, and your preferences. No
    third-party advertising cookies." Walk the signed-in app and look at what the browser
    holds and where it talked to."""
    origins: set[str] = set()
    context.on("request", lambda request: origins.add(urlsplit(request.url).netloc))
    sign_up(page, name="Cookie")
    for path in ("/home", "/studio", "/library", "/analytics", "/settings", "/privacy"):
        visit(page, path)
    ours = urlsplit(page.url).netloc
    assert origins <= {ours, ""}, origins  # "" = data: and blob: URLs
    cookies = context.cookies()
    assert {cookie["domain"] for cookie in cookies} == {urlsplit(page.url).hostname}
    assert [cookie["name"] for cookie in cookies] == ["assetry_session"], cookies
