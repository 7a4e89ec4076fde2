"""What the e2e tests do in the browser, written once: open a page, sign up, log in."""

from __future__ import annotations

import re
import time
import uuid

from playwright.sync_api import BrowserContext, Page, WebSocket, expect

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


def visit(page: Page, path: str, *, timeout_s: float = 15) -> None:
    """Load `path` and wait until the app is live: websocket up, on_load handlers done.

    The HTML arrives pre-rendered, so elements are visible before React hydrates;
    typing or clicking earlier would be lost. The server says when it is ready.
    """
    frames: list[str] = []

    def on_websocket(socket: WebSocket) -> None:
        socket.on("framereceived", lambda payload: frames.append(str(payload)))

    page.on("websocket", on_websocket)
    try:
        page.goto(path)
        deadline = time.monotonic() + timeout_s
        while not any(HYDRATED in frame for frame in frames):
            assert time.monotonic() < deadline, f"{path} did not finish loading in {timeout_s}s"
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


def path_is(path: str) -> re.Pattern[str]:
    """A URL pattern for one of the app's paths (the router may add a trailing slash)."""
    return re.compile(rf"^https?://[^/]+{re.escape(path.rstrip('/'))}/?(\?.*)?$")
