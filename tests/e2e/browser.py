"""What the e2e tests do in the browser, written once: open a page, sign up, log in."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import BrowserContext, Locator, Page, WebSocket, expect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
STRONG_PASSWORD = "Quiet-Harbor-2026"
HYDRATED = '"is_hydrated_rx_state_":true'
# axe-core, installed into tools/ by `make install` (tools/package.json).
AXE = Path(__file__).resolve().parents[2] / "tools" / "node_modules" / "axe-core" / "axe.min.js"


def visit(page: Page, path: str, *, timeout_s: float = 15) -> None:
    """Load `path` and wait until the app is live: websocket up, on_load handlers done.

    The HTML arrives pre-rendered, so elements are visible before React hydrates;
    typing or clicking earlier would be lost. The server says when it is ready.
    """
    until_live(page, lambda: page.goto(path), what=path, timeout_s=timeout_s)


def until_live(page: Page, navigate: Callable[[], object], *, what: str, timeout_s: float = 15) -> None:
    """Do something that loads a page of the app (a goto, a click leaving for another site that
    sends the browser back) and wait until that page is live, as `visit` does."""
    frames: list[str] = []

    def on_websocket(socket: WebSocket) -> None:
        socket.on("framereceived", lambda payload: frames.append(str(payload)))

    page.on("websocket", on_websocket)
    try:
        navigate()
        deadline = time.monotonic() + timeout_s
        while not any(HYDRATED in frame for frame in frames):
            assert time.monotonic() < deadline, f"{what} did not finish loading in {timeout_s}s"
            page.wait_for_timeout(25)
    finally:
        page.remove_listener("websocket", on_websocket)


def phone_context(new_context, **kwargs) -> BrowserContext:
    """A phone-sized browser context (390×844, touch)."""
    return new_context(viewport=PHONE, is_mobile=True, has_touch=True, **kwargs)


def new_email(tag: str = "creator") -> str:
    """An address no other test uses (they share one server and database)."""
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.com"


def fill_sign_up(
    page: Page,
    *,
    email: str,
    password: str = STRONG_PASSWORD,
    name: str = "",
    in_eu: bool = False,
    confirm_age: bool = True,
    accept: bool = True,
) -> None:
    """Open the sign-up page, fill it in and send it."""
    visit(page, "/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Name (optional)").fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    if in_eu:
        page.get_by_role("checkbox", name="I live in the European Union").click()
        expect(page.get_by_text("I am at least 16 years old")).to_be_visible()
    if confirm_age:
        page.get_by_role("checkbox", name="I am at least").click()
    if accept:
        page.get_by_role("checkbox", name="I accept the privacy policy").click()
    page.get_by_role("button", name="Create account").click()


def sign_up(page: Page, *, name: str = "", email: str | None = None) -> str:
    """Create an account through the form and land on /home; returns the email."""
    email = email or new_email()
    fill_sign_up(page, email=email, name=name)
    expect(page).to_have_url(path_is("/home"))
    return email


def log_in(page: Page, email: str, password: str = STRONG_PASSWORD) -> None:
    """Send the log-in form (the caller checks where it lands)."""
    visit(page, "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    # The header has a "Log in" button too; the form's own is the one to press.
    page.locator("form").get_by_role("button", name="Log in").click()


def choose(page: Page, label: str, option: str) -> None:
    """Pick an option of the drop-down named `label`, and see it chosen."""
    page.get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option, exact=True).click()
    expect(page.get_by_role("combobox", name=label)).to_have_text(option)


def path_is(path: str) -> re.Pattern[str]:
    """A URL pattern for one of the app's paths (the router may add a trailing slash)."""
    return re.compile(rf"^https?://[^/]+{re.escape(path.rstrip('/'))}/?(\?.*)?$")


def check_fits_the_width(page: Page) -> None:
    """Nothing sticks out sideways: the page never scrolls horizontally."""
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the {page.viewport_size['width']}px window"


def keep_screenshot(page: Page, name: str) -> None:
    """With E2E_SCREENSHOTS=/some/folder set, keep a full-page screenshot named after the window size."""
    folder = os.environ.get("E2E_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        size = "phone" if page.viewport_size["width"] < 600 else "desktop"
        page.screenshot(path=f"{folder}/{name}-{size}.png", full_page=True)


def toast(page: Page, text: str) -> Locator:
    """A notification (the toasts sit in the "Notifications" region)."""
    return page.get_by_role("region", name="Notifications").get_by_text(text)


def wait_until(check, *, timeout_s: float, every_s: float = 0.25, what: str = "the condition") -> None:
    """Poll `check()` until it is true; fails with `what` after `timeout_s` seconds."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"Waited {timeout_s:.0f} s for {what}"
        time.sleep(every_s)


def accessibility_violations(page: Page) -> list[str]:
    """What axe-core finds wrong on the page as it is now (all its default rules), one line a rule.

    The page's context must be made with `bypass_csp=True`: the content security policy
    rightly refuses the script tag that brings axe in.
    """
    if not page.evaluate("() => 'axe' in window"):
        page.add_script_tag(path=AXE)
    return page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations.map(
            (v) => `${v.id} (${v.impact}): ${v.help}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`
        )"""
    )
