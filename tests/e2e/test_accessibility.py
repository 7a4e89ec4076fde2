"""axe-core on every page: public, a creator's with real data, the admin area; light and dark, desktop and phone.

One test per window size and colour scheme walks the pages and fails on any violation
axe-core reports (every rule it runs by default). The signed-in pages belong to one
account that has the sandbox TikTok connected and synced (a filled dashboard and a post
page) and the admin role.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser import (
    DESKTOP,
    PHONE,
    accessibility_violations,
    sign_up,
    until_live,
    visit,
)
from tests.e2e.conftest import ACTION_TIMEOUT_MS, AppServer

pytestmark = pytest.mark.e2e

PUBLIC = ("/", "/privacy", "/terms", "/support", "/signup", "/login", "/reset")
SIGNED_IN = ("/home", "/studio", "/library", "/settings")
ADMIN = (
    "/admin",
    "/admin/users",
    "/admin/jobs",
    "/admin/waitlist",
    "/admin/inbox",
    "/admin/outbox",
    "/admin/audit",
)
SYNC_TIMEOUT_MS = 60_000
CHART_DRAWN = "() => document.querySelectorAll('.js-plotly-plot .main-svg').length > 0"


@pytest.fixture(scope="module")
def creator(app_server: AppServer, browser: Browser, browser_context_args: dict) -> tuple[str, dict]:
    """An admin who is also a creator with the sandbox's Jon Okafor connected and synced: email, storage."""
    context = browser.new_context(**browser_context_args)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    try:
        page = context.new_page()
        email = sign_up(page, name="Ayu Lestari")
        visit(page, "/analytics")
        page.get_by_role("button", name="Connect TikTok").click()
        page.get_by_role("radio", name="Jon Okafor").check()
        until_live(page, lambda: page.locator("#allow").click(), what="the way back from the consent page")
        expect(page.locator(".total-card").first).not_to_contain_text("—", timeout=SYNC_TIMEOUT_MS)
        made = app_server.command("create-admin", email)
        assert made.returncode == 0, made.stdout + made.stderr
        return email, context.storage_state()
    finally:
        context.close()


def _check(page: Page, path: str, found: dict[str, list[str]]) -> None:
    if violations := accessibility_violations(page):
        found[path] = violations


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_no_page_has_an_accessibility_violation(
    new_context, creator: tuple[str, dict], size: str, scheme: str
) -> None:
    email, storage = creator
    window = (
        {"viewport": PHONE, "is_mobile": True, "has_touch": True}
        if size == "phone"
        else {"viewport": DESKTOP}
    )
    found: dict[str, list[str]] = {}
    visitor = new_context(**window, color_scheme=scheme, bypass_csp=True).new_page()
    for path in PUBLIC:
        visit(visitor, path)
        _check(visitor, path, found)
    page = new_context(**window, color_scheme=scheme, bypass_csp=True, storage_state=storage).new_page()
    for path in (*SIGNED_IN, *ADMIN):
        visit(page, path)
        _check(page, path, found)
    visit(page, "/analytics")
    page.wait_for_function(CHART_DRAWN, timeout=SYNC_TIMEOUT_MS)
    _check(page, "/analytics", found)
    page.locator("table").first.locator("tbody tr").first.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/analytics/post/[0-9a-f-]{36}/?$"))
    page.wait_for_function(CHART_DRAWN)
    _check(page, "/analytics/post", found)
    visit(page, "/admin/users")
    page.get_by_role("link", name=email).click()
    expect(page).to_have_url(re.compile(r"/admin/users/[0-9a-f-]{36}/?$"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    _check(page, "/admin/users/[user_id]", found)
    assert found == {}, "\n".join(f"{path}: {line}" for path, lines in found.items() for line in lines)
