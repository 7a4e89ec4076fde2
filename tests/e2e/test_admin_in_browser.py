"""The admin area in the browser: an account made admin with `python -m assetry create-admin`,
then the overview, users, the support inbox and background jobs, on a desktop and a phone.

The server sends its mail through `mailbox`, a real SMTP server in this test process: a reply
is read as the person it went to receives it, and an address the server refuses makes a real
failed delivery job.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, WebSocket, expect

from assetry.services.accounts import SESSION_COOKIE
from tests.e2e.browser import (
    check_fits_the_width,
    choose,
    draw_charts,
    fill_sign_up,
    keep_screenshot,
    log_in,
    new_email,
    open_sign_up_link,
    path_is,
    phone_context,
    sign_up,
    visit,
    wait_for_sign_up_mail,
    wait_until,
)
from tests.e2e.conftest import AppServer
from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.e2e

USER_PAGE = re.compile(r"/admin/users/[0-9a-f-]{36}/?$")
DISABLED = "This account is disabled. Contact support if you think that is a mistake."
QUESTION = "Can the captions be written in Bahasa Indonesia?"
WHOLE_NUMBER = re.compile(r"^[\d,]+$")
SIGNUPS_IN_PERIOD = re.compile(r"^([\d,]+) signed up in this period$")
ADMIN_PATHS = ("/admin", "/admin/users", "/admin/inbox")


@pytest.fixture(scope="module")
def admin_email(app_server: AppServer, browser: Browser, browser_context_args: dict) -> str:
    """An account signed up in the browser, then given the admin role by the operator command."""
    context = browser.new_context(**browser_context_args)
    try:
        email = sign_up(context.new_page(), name="Ops Wayan")
    finally:
        context.close()
    # The command matches the address as the account stores it, whatever case the operator types.
    made = app_server.command("create-admin", email.upper())
    assert made.returncode == 0, made.stdout + made.stderr
    assert made.stdout.strip() == f"{email} is now an admin."
    return email


def _as_admin(context: BrowserContext, email: str) -> Page:
    page = context.new_page()
    log_in(page, email)
    expect(page).to_have_url(path_is("/home"))
    return page


def _status(page: Page) -> Locator:
    return page.get_by_role("status")


def _row(page: Page, text: str) -> Locator:
    return page.get_by_role("row").filter(has_text=text)


def test_create_admin_refuses_an_address_without_an_account(app_server: AppServer) -> None:
    refused = app_server.command("create-admin", new_email("nobody"))
    assert refused.returncode == 1
    assert "Sign up first, then run this again." in refused.stderr


def _signups(page: Page) -> int:
    """The overview's "N signed up in this period", as a number."""
    hint = page.get_by_text(SIGNUPS_IN_PERIOD)
    expect(hint).to_be_visible()
    return int(SIGNUPS_IN_PERIOD.match(hint.inner_text()).group(1).replace(",", ""))


def _figure(page: Page, label: str) -> Locator:
    """One of the overview's figure cards."""
    return page.locator(".rt-Card").filter(has=page.get_by_text(label, exact=True))


def _figure_value(page: Page, label: str) -> int:
    value = _figure(page, label).get_by_text(WHOLE_NUMBER)
    expect(value).to_be_visible()
    return int(value.inner_text().replace(",", ""))


def _chart(page: Page, title: str) -> Locator:
    return page.locator(".rt-Card").filter(has=page.get_by_text(title, exact=True)).locator(".js-plotly-plot")


def _bar_total(chart: Locator) -> int:
    """The sum of the bars Plotly drew, from the figure it holds (what the hover labels show)."""
    return chart.evaluate("plot => plot._fullData[0].y.reduce((sum, n) => sum + n, 0)")


def test_the_overview_counts_a_new_sign_up_and_draws_its_charts(
    new_context: Callable[..., BrowserContext], admin_email: str
) -> None:
    page = _as_admin(new_context(), admin_email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    expect(page).to_have_url(path_is("/admin"))
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    before = _signups(page)
    users_before = _figure_value(page, "Users")

    sign_up(new_context().new_page(), name="Putu Ayu")

    visit(page, "/admin")
    expect(page.get_by_role("link", name="Overview")).to_have_attribute("aria-current", "page")
    assert _signups(page) == before + 1
    expect(_figure(page, "Users").get_by_text(WHOLE_NUMBER)).to_have_text(f"{users_before + 1:,}")
    draw_charts(page)
    for title in ("Sign-ups a day", "Active users a day", "Waitlist size"):
        expect(_chart(page, title).locator("svg.main-svg").first).to_be_visible()
    # Generations are drawn when there are some in the period, else the card says so.
    if _figure_value(page, "Generations") == 0:
        expect(page.get_by_text("No generation in this period.").first).to_be_visible()
        expect(_chart(page, "Generations by kind and provider")).to_have_count(0)
    else:
        expect(_chart(page, "Generations by kind and provider").locator("svg.main-svg").first).to_be_visible()
    signups_chart = _chart(page, "Sign-ups a day")
    expect(signups_chart.locator(".bars .point").first).to_be_attached()
    assert _bar_total(signups_chart) == before + 1
    keep_screenshot(page, "admin-overview")


def _open_admin_pages(page: Page, lands_on: str) -> None:
    """Open the admin pages by address: each sends the browser to `lands_on`, showing no admin data."""
    for path in ADMIN_PATHS:
        page.goto(path)
        expect(page).to_have_url(path_is(lands_on))
        expect(page.get_by_text(SIGNUPS_IN_PERIOD)).to_have_count(0)
        expect(page.get_by_role("table")).to_have_count(0)


def test_a_visitor_opening_the_admin_area_is_sent_to_log_in(page: Page) -> None:
    _open_admin_pages(page, "/login")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def test_a_member_opening_the_admin_area_is_sent_home_and_audited(
    new_context: Callable[..., BrowserContext], admin_email: str
) -> None:
    page = new_context().new_page()
    member = sign_up(page)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin")).to_have_count(0)
    _open_admin_pages(page, "/home")

    admin = _as_admin(new_context(), admin_email)
    visit(admin, "/admin/audit")
    admin.get_by_label("Who").fill(member)
    admin.get_by_role("button", name="Filter").click()
    refused = _row(admin, "admin.refused")
    # One refusal per page opened, each naming what was asked for.
    expect(refused).to_have_count(len(ADMIN_PATHS))
    for load in ("AdminOverviewState.load", "AdminUsersState.load", "AdminInboxState.load"):
        expect(refused.filter(has_text=load)).to_contain_text(member)


def _fact(page: Page, label: str) -> Locator:
    """The value beside `label` in the user's facts."""
    return page.locator(".rt-DataListItem").filter(has=page.get_by_text(label, exact=True)).locator("dd")


def _watch_frames(page: Page) -> list[str]:
    """Every websocket message the page receives from now on."""
    frames: list[str] = []

    def on_websocket(socket: WebSocket) -> None:
        socket.on("framereceived", lambda payload: frames.append(str(payload)))

    page.on("websocket", on_websocket)
    return frames


def test_an_admin_finds_a_user_disables_and_enables_them(
    new_context: Callable[..., BrowserContext], admin_email: str
) -> None:
    member_context = new_context()
    member_page = member_context.new_page()
    member = sign_up(member_page, name="Sari Dewi")
    [token] = [c["value"] for c in member_context.cookies() if c["name"] == SESSION_COOKIE]

    page = _as_admin(new_context(), admin_email)
    frames = _watch_frames(page)
    visit(page, "/admin/users")
    page.get_by_label("Search by email").fill(member.split("@")[0])
    page.get_by_role("button", name="Search").click()
    # The header row and the one account whose address starts so.
    expect(page.get_by_role("row")).to_have_count(2)
    expect(_row(page, member)).to_contain_text("Sari Dewi")
    expect(_row(page, member)).to_contain_text("active")
    keep_screenshot(page, "admin-users")
    page.get_by_role("link", name=member).click()
    expect(page).to_have_url(USER_PAGE)
    expect(page.get_by_role("heading", name=member, level=2)).to_be_visible()
    expect(_fact(page, "Name")).to_have_text("Sari Dewi")
    expect(_fact(page, "Status")).to_have_text("active")
    expect(_fact(page, "Role")).to_have_text("member")
    expect(_fact(page, "Signs in with")).to_have_text("password (local)")
    expect(_fact(page, "Signed-in browsers")).to_have_text("1")
    # Neither the page nor anything the server sent it holds the password hash or the session.
    for seen in (page.content(), *frames):
        assert "$argon2" not in seen
        assert token not in seen
    keep_screenshot(page, "admin-user")

    page.get_by_role("button", name="Disable account").click()
    expect(_status(page)).to_have_text("Account disabled: its sessions ended and it can't log in.")
    expect(_fact(page, "Status")).to_have_text("disabled")
    expect(_fact(page, "Signed-in browsers")).to_have_text("0")

    member_page.goto("/home")
    expect(member_page).to_have_url(path_is("/login"))
    log_in(member_page, member)
    expect(member_page.get_by_role("alert")).to_have_text(DISABLED)
    expect(member_page).to_have_url(path_is("/login"))

    page.get_by_role("button", name="Enable account").click()
    expect(_status(page)).to_have_text("Account enabled: it can log in again.")
    expect(_fact(page, "Status")).to_have_text("active")
    log_in(member_page, member)
    expect(member_page).to_have_url(path_is("/home"))
    expect(member_page.get_by_role("heading", name="Welcome, Sari Dewi")).to_be_visible()


def _write_to_support(page: Page, email: str, message: str) -> str:
    """Send the support form as a visitor; returns the (unique) subject."""
    subject = f"Captions in Bahasa ({uuid.uuid4().hex[:6]})"
    visit(page, "/support")
    page.get_by_label("Your name (optional)").fill("Dewi")
    page.get_by_label("Email we should answer to").fill(email)
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Message").fill(message)
    page.get_by_role("button", name="Send message").click()
    expect(_status(page)).to_contain_text("your message reached us")
    return subject


def test_a_support_message_is_answered_by_email_and_marked_done(
    new_context: Callable[..., BrowserContext], admin_email: str, mailbox: SmtpServer
) -> None:
    asker = new_email("asker")
    subject = _write_to_support(new_context().new_page(), asker, QUESTION)

    page = _as_admin(new_context(), admin_email)
    visit(page, "/admin/inbox")
    row = _row(page, subject)
    expect(row).to_contain_text(asker)
    row.get_by_role("link", name=subject).click()
    expect(page.get_by_role("heading", name=subject, level=2)).to_be_visible()
    expect(page.get_by_text(QUESTION)).to_be_visible()
    keep_screenshot(page, "admin-inbox")

    answer = "Yes: pick Bahasa Indonesia in the caption form's language menu."
    page.get_by_placeholder("Your reply…").fill(answer)
    page.get_by_role("button", name="Send reply by email").click()
    expect(_status(page)).to_have_text(f"Reply sent to {asker}.")
    expect(page.get_by_placeholder("Your reply…")).to_have_value("")
    expect(row).to_contain_text("replied")

    mail = mailbox.last_mail_to(asker)
    assert mail.rcpt_tos == [asker]
    assert mail.message["To"] == asker
    assert mail.subject == f"Re: {subject}"
    assert answer in mail.body("plain")
    assert QUESTION in mail.body("plain")

    row.get_by_role("button", name="Done").click()
    expect(_status(page)).to_have_text("Marked done.")
    expect(row).to_have_count(0)
    choose(page, "Status", "done")
    expect(row.get_by_role("button", name="Reopen")).to_be_visible()


def test_a_failed_mail_delivery_is_retried_from_the_jobs_page(
    new_context: Callable[..., BrowserContext], admin_email: str, mailbox: SmtpServer
) -> None:
    bounced = new_email("bounced")
    creator = new_context().new_page()
    fill_sign_up(creator, email=bounced)
    wait_for_sign_up_mail(bounced)
    mailbox.refused.add(bounced)  # from now on: the welcome email is refused for good
    open_sign_up_link(creator, bounced)

    page = _as_admin(new_context(), admin_email)
    visit(page, "/admin/jobs")
    choose(page, "Status", "failed")
    failed = _row(page, "mail.deliver")  # the only failed job: the admin's own welcome was sent

    def listed() -> bool:
        if failed.count():
            return True
        visit(page, "/admin/jobs")  # the filter stays; the list is read again
        return failed.count() > 0

    wait_until(listed, timeout_s=30, every_s=1, what="the refused delivery to fail")
    expect(failed).to_contain_text("mail.deliver")
    expect(failed).to_contain_text("failed")
    keep_screenshot(page, "admin-jobs")

    visit(page, "/admin/outbox")  # the reason is on the message, where the admin reads mail
    expect(_row(page, bounced).filter(has_text="Welcome to Assetry")).to_contain_text("failed")
    expect(_row(page, bounced).filter(has_text="Welcome to Assetry")).to_contain_text(
        f"The mail server refused the address {bounced}"
    )

    mailbox.refused.discard(bounced)
    visit(page, "/admin/jobs")
    failed.get_by_role("button", name="Retry").click()
    expect(_status(page)).to_have_text("Job queued again.")
    expect(failed).to_have_count(0)

    welcome = mailbox.last_mail_to(bounced, subject="Welcome to Assetry")
    assert welcome.rcpt_tos == [bounced]
    # The worker marks the message sent once the mail server has taken it: just after it arrived.
    sent = (
        _row(page, bounced)
        .filter(has_text="Welcome to Assetry")
        .filter(has=page.get_by_role("cell", name="sent", exact=True))
    )

    def marked_sent() -> bool:
        visit(page, "/admin/outbox")
        return sent.count() > 0

    wait_until(marked_sent, timeout_s=30, every_s=1, what="the outbox to show the welcome email sent")


def test_the_admin_pages_fit_a_phone(new_context: Callable[..., BrowserContext], admin_email: str) -> None:
    subject = _write_to_support(new_context().new_page(), new_email("asker"), QUESTION)
    page = _as_admin(phone_context(new_context), admin_email)
    for path, shows, name in [
        ("/admin", page.get_by_text(SIGNUPS_IN_PERIOD), "admin-overview"),
        ("/admin/users", _row(page, "active").first, "admin-users"),
        ("/admin/inbox", _row(page, subject), "admin-inbox"),
        # The admin's sign-up queued a welcome email: there is at least one job.
        ("/admin/jobs", _row(page, "mail.deliver").first, "admin-jobs"),
    ]:
        visit(page, path)
        expect(shows).to_be_visible()
        check_fits_the_width(page)
        keep_screenshot(page, name)
