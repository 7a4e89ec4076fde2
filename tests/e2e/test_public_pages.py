"""The public site in the browser: waitlist, support form, policies, headers and the CSP."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from assetry.local_postgres import LocalPostgres
from tests.e2e.browser import new_email, path_is, until_live, visit, wait_until

pytestmark = pytest.mark.e2e

# The same answer whether or not the address was on the list: it tells no one who is.
ON_THE_LIST = "Thanks! If you weren't on the list already, you are now. We'll write when your spot opens."
TIKTOK = "https://www.tiktok.com/"
THANKS = "Thanks — your message reached us. We usually answer within two working days."


def _join_waitlist(page: Page, email: str) -> None:
    page.get_by_label("Email for the waitlist").fill(email)
    page.get_by_role("button", name="Join the waitlist").click()


def test_waitlist_answers_a_repeat_as_it_answers_a_new_address(page: Page) -> None:
    email = new_email("waitlist")
    visit(page, "/")
    _join_waitlist(page, email)
    expect(page.get_by_role("status")).to_have_text(ON_THE_LIST)

    # The same address again, in other letter case: the same answer, no error.
    visit(page, "/")
    _join_waitlist(page, email.upper())
    expect(page.get_by_role("status")).to_have_text(ON_THE_LIST)
    expect(page.get_by_role("alert")).to_have_count(0)


def test_waitlist_refuses_a_malformed_email(page: Page) -> None:
    visit(page, "/")
    # Passes the browser's type=email check; the server's check refuses it.
    _join_waitlist(page, "someone@localhost")
    expect(page.get_by_role("alert")).to_contain_text("That email address doesn't look right")
    expect(page.get_by_role("status")).to_have_count(0)


def _fill_support(page: Page, *, subject: str, body: str) -> None:
    page.get_by_label("Your name (optional)").fill("Dewi")
    page.get_by_label("Email we should answer to").fill(new_email("support"))
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Message").fill(body)
    page.get_by_role("button", name="Send message").click()


def test_support_form_thanks_the_sender_and_clears_the_message(page: Page) -> None:
    visit(page, "/support")
    _fill_support(page, subject="Export question", body="How do I export my captions?")
    expect(page.get_by_role("status")).to_have_text(THANKS)
    expect(page.get_by_label("Message")).to_have_value("")


def test_support_form_asks_for_a_message(page: Page) -> None:
    visit(page, "/support")
    _fill_support(page, subject="Empty", body="   ")
    expect(page.get_by_role("alert")).to_have_text("Please fill in the message.")
    expect(page.get_by_role("status")).to_have_count(0)


def test_support_form_caps_what_can_be_typed(page: Page) -> None:
    visit(page, "/support")
    page.get_by_label("Subject").fill("s" * 500)
    page.get_by_label("Message").fill("m" * 6000)
    expect(page.get_by_label("Subject")).to_have_value("s" * 200)
    expect(page.get_by_label("Message")).to_have_value("m" * 5000)


def test_privacy_policy_shows_its_date_and_what_this_installation_uses(page: Page) -> None:
    visit(page, "/privacy")
    expect(page.get_by_role("heading", name="Privacy policy", level=1)).to_be_visible()
    expect(page.get_by_text("Effective April 22, 2026")).to_be_visible()
    in_use = page.locator("#in-use")
    expect(in_use.get_by_role("heading", name="In use on this installation")).to_be_visible()
    # The test server runs on its embedded defaults except for email, sent through SMTP.
    expect(in_use.get_by_role("listitem")).to_have_text(
        ["Email delivery (SMTP): your email address and the messages we send you"]
    )


def test_terms_render(page: Page) -> None:
    visit(page, "/terms")
    expect(page.get_by_role("heading", name="Terms of use", level=1)).to_be_visible()
    expect(page.get_by_text("Effective April 22, 2026")).to_be_visible()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()


@pytest.mark.parametrize("path", ["/", "/login", "/home", "/health"])
def test_responses_carry_the_security_headers(page: Page, path: str) -> None:
    response = page.goto(path) if path != "/health" else page.request.get(path)
    assert response is not None
    assert response.ok
    headers = response.headers
    policy = headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert headers["x-content-type-options"] == "nosniff"


def test_the_content_security_policy_blocks_other_origins(page: Page, browser_errors: list[str]) -> None:
    """The policy is in force in the browser, and a violation is caught as an error."""
    visit(page, "/")
    # The browser reports the violation on its own time, maybe after the fetch has failed.
    with page.expect_console_message(
        lambda m: "Content Security Policy" in m.text and "127.0.0.1:9" in m.text
    ):
        blocked = page.evaluate(
            """async () => {
                try { await fetch("http://127.0.0.1:9/steal"); return false; } catch { return true; }
            }"""
        )
    assert blocked
    assert any("Content Security Policy" in e and "127.0.0.1:9" in e for e in browser_errors), (
        f"no CSP violation reported; errors seen: {browser_errors}"
    )
    # Expected here, so they must not fail this test; any other error still does.
    browser_errors[:] = [e for e in browser_errors if "127.0.0.1:9" not in e]


def _page_views(data_dir: Path, route: str) -> list[str]:
    """The referrers of the page views recorded for `route`, oldest first."""
    with psycopg.connect(LocalPostgres(data_dir).url()) as connection:
        rows = connection.execute(
            "SELECT referrer FROM usage_events WHERE kind = 'page_view' AND name = %s ORDER BY created_at",
            (route,),
        )
        return [referrer for (referrer,) in rows]


def test_a_page_on_screen_records_one_view_with_its_referrer(page: Page, server_data_dir: Path) -> None:
    """Each page shown records one view, the way in included: opened from a link elsewhere (the
    referrer the browser reports), or followed inside the app."""
    terms, privacy = (
        len(_page_views(server_data_dir, "/terms")),
        len(_page_views(server_data_dir, "/privacy")),
    )
    until_live(page, lambda: page.goto("/terms", referer=TIKTOK), what="/terms")
    wait_until(lambda: len(_page_views(server_data_dir, "/terms")) > terms, timeout_s=10, what="the view")
    page.get_by_role("contentinfo").get_by_role("link", name="Privacy", exact=True).click()
    expect(page).to_have_url(path_is("/privacy"))
    wait_until(lambda: len(_page_views(server_data_dir, "/privacy")) > privacy, timeout_s=10, what="the view")
    assert _page_views(server_data_dir, "/terms")[terms:] == [TIKTOK]
    assert len(_page_views(server_data_dir, "/privacy")[privacy:]) == 1


def test_a_tab_that_reconnects_is_not_a_second_view(page: Page, server_data_dir: Path) -> None:
    """A phone's tab that wakes drops its websocket and opens a new one, and the page is loaded
    again over it: still the one view it was."""
    sockets: list[WebSocketRoute] = []

    def passed_through(socket: WebSocketRoute) -> None:
        socket.connect_to_server()
        sockets.append(socket)

    page.route_web_socket("**/_event/**", passed_through)
    support = len(_page_views(server_data_dir, "/support"))
    until_live(page, lambda: page.goto("/support"), what="/support")
    wait_until(
        lambda: len(_page_views(server_data_dir, "/support")) > support,
        timeout_s=10,
        what="the view",
        page=page,
    )
    sockets[-1].close(code=1001, reason="a phone's tab asleep")
    wait_until(lambda: len(sockets) > 1, timeout_s=20, what="the tab connecting again", page=page)
    # The page loaded again over the new socket: the form answers (a server-side check).
    page.get_by_role("button", name="Send message").click()
    expect(page.get_by_text("Enter your email address.")).to_be_visible()
    page.wait_for_timeout(1000)  # a view sent after the load would be recorded within this
    assert len(_page_views(server_data_dir, "/support")) == support + 1
