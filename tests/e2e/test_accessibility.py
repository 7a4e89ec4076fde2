"""axe-core on every page: public, a creator's with real data, the admin area; light and dark, desktop and phone.

One test per window size and colour scheme walks the pages and fails on any violation
axe-core reports (every rule it runs by default). The signed-in pages belong to
`synced_admin` (conftest.py): the sandbox TikTok connected and synced, and the admin role.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import (
    DESKTOP,
    PHONE,
    accessibility_violations,
    draw_charts,
    keep_screenshot,
    visit,
)
from tests.e2e.conftest import SYNC_TIMEOUT_MS

pytestmark = pytest.mark.e2e

PUBLIC = ("/", "/privacy", "/terms", "/support", "/signup", "/login", "/reset")
SIGNED_IN = ("/home", "/studio", "/library", "/plan", "/settings")
ADMIN = (
    "/admin",
    "/admin/users",
    "/admin/jobs",
    "/admin/waitlist",
    "/admin/inbox",
    "/admin/outbox",
    "/admin/audit",
)


def _check(page: Page, path: str, found: dict[str, list[str]]) -> None:
    if violations := accessibility_violations(page):
        found[path] = violations
    dark = page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
    scheme = "dark" if dark else "light"
    keep_screenshot(
        page, f"{scheme}-{path.strip('/').replace('/', '-').replace('[', '').replace(']', '') or 'landing'}"
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_no_page_has_an_accessibility_violation(
    new_context, synced_admin: tuple[str, dict], size: str, scheme: str
) -> None:
    email, storage = synced_admin
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
    if size == "phone":
        page.get_by_role("button", name="Open menu").click()
        expect(page.get_by_role("navigation", name="Menu")).to_be_visible()
        _check(page, "/admin/audit, the menu open", found)
    visit(page, "/analytics")
    expect(page.locator(".total-card").first).not_to_contain_text("—", timeout=SYNC_TIMEOUT_MS)
    draw_charts(page)
    _check(page, "/analytics", found)
    # Opened as full loads: `visit` returns once their on_load handlers have filled them.
    visit(
        page, page.locator("table").first.locator("tbody tr").first.get_by_role("link").get_attribute("href")
    )
    draw_charts(page)
    _check(page, "/analytics/post/[post_id]", found)
    visit(page, "/admin/users")
    visit(page, page.get_by_role("link", name=email).get_attribute("href"))
    _check(page, "/admin/users/[user_id]", found)
    assert found == {}, "\n".join(f"{path}: {line}" for path, lines in found.items() for line in lines)
