"""Every page of the app at 390×844, with real data in it, never scrolls or sticks out sideways.

One creator makes an image, connects the sandbox TikTok account (a first sync fills the
dashboard) and writes to support; the operator command makes them an admin. Then a phone
opens every public, creator and admin page and `check_fits_the_width` measures each.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import (
    check_fits_the_width,
    connect_sandbox_account,
    keep_screenshot,
    make_an_image,
    phone_context,
    sign_up,
    visit,
)
from tests.e2e.conftest import AppServer

pytestmark = pytest.mark.e2e

SYNC_TIMEOUT_MS = 60_000
PROMPT = "A surfer on a long green wave at dawn, seen from the water, spray in the low sun"
PUBLIC = ["/", "/privacy", "/terms", "/support", "/signup", "/login", "/reset", "/reset/not-a-real-token"]
CREATOR = ["/home", "/studio", "/library", "/plan", "/analytics", "/settings"]
ADMIN = [
    "/admin",
    "/admin/users",
    "/admin/jobs",
    "/admin/waitlist",
    "/admin/inbox",
    "/admin/outbox",
    "/admin/audit",
]


def _look(page: Page, path: str) -> None:
    visit(page, path)
    expect(page.get_by_role("heading", level=1).first).to_be_visible()
    check_fits_the_width(page)
    keep_screenshot(page, "fits-" + (path.strip("/").replace("/", "-") or "landing"))


def _first_link(page: Page, prefix: str) -> str:
    link = page.locator(f"a[href^='{prefix}']").first
    expect(link).to_be_attached(timeout=SYNC_TIMEOUT_MS)
    return link.get_attribute("href")


def test_every_page_fits_a_phone(new_context, app_server: AppServer) -> None:
    visitor = phone_context(new_context).new_page()
    for path in PUBLIC:
        _look(visitor, path)

    desktop = new_context()
    page = desktop.new_page()
    email = sign_up(page, name="Wide Content Tester With A Rather Long Name")
    make_an_image(page, PROMPT)
    visit(page, "/analytics")
    connect_sandbox_account(page, "tiktok", "Jon Okafor")
    expect(page.locator(".total-card").first).not_to_contain_text("—", timeout=SYNC_TIMEOUT_MS)
    visit(page, "/support")
    page.get_by_label("Email we should answer to").fill(email)
    page.get_by_label("Subject").fill("Can captions be written in Bahasa Indonesia and in Javanese too?")
    page.get_by_label("Message").fill("A long question about captions " * 6)
    page.get_by_role("button", name="Send message").click()
    expect(page.get_by_role("status")).to_be_visible()
    made = app_server.command("create-admin", email)
    assert made.returncode == 0, made.stdout + made.stderr

    phone = phone_context(new_context, storage_state=desktop.storage_state()).new_page()
    for path in CREATOR:
        _look(phone, path)
    visit(phone, "/library")
    _look(phone, _first_link(phone, "/library/"))
    visit(phone, "/analytics")
    _look(phone, _first_link(phone, "/analytics/post/"))
    for path in ADMIN:
        _look(phone, path)
    visit(phone, "/admin/users")
    _look(phone, _first_link(phone, "/admin/users/"))
