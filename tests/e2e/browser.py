"""What the e2e tests do in the browser, written once: open a page, sign up, log in."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import BrowserContext, Locator, Page, WebSocket, expect

from tests.smtp_server import SmtpServer

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
# How long a page may take to load and fill (its on_load handlers' queries) on a busy machine.
LOAD_TIMEOUT_S = 30
# How long a job of the offline provider may take on a busy machine.
JOB_TIMEOUT_MS = 45_000
SANDBOX_PLATFORMS = {"tiktok": "TikTok", "instagram": "Instagram"}
SIGN_UP_SENT = "Check your email to finish signing up."
SIGN_UP_SUBJECT = "Finish signing up to Assetry"
# The SMTP server the app under test sends its mail to (conftest's `mailbox` registers it).
_MAILBOXES: list[SmtpServer] = []


def read_mail_from(mailbox: SmtpServer) -> None:
    """Where `sign_up` finds the emailed link: the e2e SMTP server."""
    _MAILBOXES[:] = [mailbox]


def emailed_link(mailbox: SmtpServer, to: str, subject: str, path: str) -> str:
    """The link to `path` in the newest email with `subject` that reached `to`'s inbox."""
    body = mailbox.last_mail_to(to, subject=subject).body()
    return re.search(rf"https?://\S+{re.escape(path)}\S+", body).group(0)


# axe-core, installed into tools/ by `make install` (tools/package.json).
AXE = Path(__file__).resolve().parents[2] / "tools" / "node_modules" / "axe-core" / "axe.min.js"


def visit(page: Page, path: str, *, timeout_s: float = LOAD_TIMEOUT_S) -> None:
    """Load `path` and wait until the app is live: websocket up, on_load handlers done.

    The HTML arrives pre-rendered, so elements are visible before React hydrates;
    typing or clicking earlier would be lost. The server says when it is ready.
    """
    until_live(page, lambda: page.goto(path), what=path, timeout_s=timeout_s)


def until_live(
    page: Page, navigate: Callable[[], object], *, what: str, timeout_s: float = LOAD_TIMEOUT_S
) -> None:
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


def sign_up(page: Page, *, name: str = "", email: str | None = None, **form: bool) -> str:
    """Create an account as a creator does: the form, then the link it emails; lands on /home.

    Returns the email. `form` takes `fill_sign_up`'s choices (e.g. `in_eu=True`).
    """
    email = email or new_email()
    fill_sign_up(page, email=email, name=name, **form)
    expect(page.get_by_role("status")).to_contain_text(f"{SIGN_UP_SENT} We sent a message to {email}")
    open_sign_up_link(page, email)
    expect(page).to_have_url(path_is("/home"))
    return email


def sign_up_mails(email: str) -> int:
    """How many sign-up emails reached `email`'s inbox so far."""
    assert _MAILBOXES, "sign-up links arrive by email: the e2e `mailbox` fixture was not set up"
    return sum(email in r.rcpt_tos and r.subject == SIGN_UP_SUBJECT for r in list(_MAILBOXES[0].inbox))


def wait_for_sign_up_mail(email: str) -> None:
    """Until the sign-up email reached `email`'s inbox: the account exists once it was sent."""
    assert _MAILBOXES, "sign-up links arrive by email: the e2e `mailbox` fixture was not set up"
    _MAILBOXES[0].last_mail_to(email, subject=SIGN_UP_SUBJECT)


def open_sign_up_link(page: Page, email: str) -> None:
    """Open the newest sign-up link emailed to `email` (it confirms the account and signs in)."""
    assert _MAILBOXES, "sign-up links arrive by email: the e2e `mailbox` fixture was not set up"
    link = emailed_link(_MAILBOXES[0], email, SIGN_UP_SUBJECT, "/signup/confirm/")
    page.goto(link)


def log_in(page: Page, email: str, password: str = STRONG_PASSWORD, *, at: str = "") -> None:
    """Send the log-in form (the caller checks where it lands); `at`: another address of the app."""
    visit(page, f"{at}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    # The header has a "Log in" button too; the form's own is the one to press.
    page.locator("form").get_by_role("button", name="Log in").click()


def make_an_image(page: Page, prompt: str) -> None:
    """Generate an image in the studio (offline provider) and wait until it is ready."""
    visit(page, "/studio")
    page.get_by_role("radio", name="Image").click()
    expect(page.get_by_role("combobox", name="Model")).to_have_text(re.compile("Image", re.I))
    page.get_by_label("Prompt", exact=True).fill(prompt)
    page.locator("#generate").click()
    expect(toast(page, "Your image is ready.")).to_be_visible(timeout=JOB_TIMEOUT_MS)


def open_sandbox_consent(page: Page, platform: str) -> None:
    """On /analytics, press Connect and land on the sandbox's consent page."""
    page.get_by_role("button", name=f"Connect {SANDBOX_PLATFORMS[platform]}").click()
    expect(page).to_have_url(re.compile(rf"/sandbox/{platform}/"))
    expect(page.get_by_text("Sandbox").first).to_be_visible()


def connect_sandbox_account(page: Page, platform: str, account: str) -> None:
    """Connect a sandbox account from /analytics; returns on /analytics, live, after consent."""
    open_sandbox_consent(page, platform)
    if platform == "tiktok":
        page.get_by_role("radio", name=account).check()
    else:
        page.get_by_label("Continue as").select_option(account)
    until_live(page, lambda: page.locator("#allow").click(), what="the way back from the consent page")
    expect(page).to_have_url(re.compile(rf"/analytics/?\?oauth=connected&platform={platform}(#_)?$"))


def choose(page: Page, label: str, option: str) -> None:
    """Pick an option of the drop-down named `label`, and see it chosen."""
    page.get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option, exact=True).click()
    expect(page.get_by_role("combobox", name=label)).to_have_text(option)


def path_is(path: str) -> re.Pattern[str]:
    """A URL pattern for one of the app's paths (the router may add a trailing slash)."""
    return re.compile(rf"^https?://[^/]+{re.escape(path.rstrip('/'))}/?(\?.*)?$")


# Everything on the page that is wider than the window or scrolls sideways inside it: the
# document itself, a table in a scroll area, a badge cut off by its box; and a box squeezed
# to no height that hides what it holds. Text cut on purpose with an ellipsis, and elements
# hidden from view, are not counted.
_SIDEWAYS = """(width) => {
    const found = [];
    const name = (el) => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${
        typeof el.className === 'string' && el.className ? '.' + el.className.trim().split(/\\s+/).slice(0, 3).join('.') : ''
    } "${(el.innerText || el.getAttribute('aria-label') || '').trim().slice(0, 60)}"`;
    const page = document.documentElement;
    if (page.scrollWidth > width) found.push(`the page is ${page.scrollWidth}px wide`);
    for (const el of document.body.querySelectorAll('*')) {
        const box = el.getBoundingClientRect();
        const style = getComputedStyle(el);
        // A box squeezed to no height that clips what it holds (a table made a block, say).
        if (box.width >= 2 && box.height < 2 && el.scrollHeight > 10 && style.overflowY !== 'visible') {
            found.push(`${name(el)} hides ${el.scrollHeight}px of content in ${Math.round(box.height)}px`);
        }
        if (box.width < 2 || box.height < 2) continue;
        if (style.visibility === 'hidden' || style.position === 'fixed') continue;
        if (style.textOverflow === 'ellipsis') continue;
        // Text fields scroll their own text: only their box counts.
        const field = ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName);
        const clips = ['hidden', 'auto', 'scroll', 'clip'].includes(style.overflowX);
        if (clips && !field && el.scrollWidth > el.clientWidth + 1) {
            found.push(`${name(el)} holds ${el.scrollWidth}px in ${el.clientWidth}px`);
        } else if (box.right > width + 1 && !el.closest('[data-radix-popper-content-wrapper]')) {
            found.push(`${name(el)} reaches ${Math.round(box.right)}px`);
        }
    }
    return found;
}"""


def check_fits_the_width(page: Page) -> None:
    """Nothing sticks out or scrolls sideways at the window's width (the page, a table, a badge),
    and nothing made to fit is squeezed out of sight."""
    width = page.viewport_size["width"]
    # Not window.innerWidth: a phone browser zooms out to show a page that is too wide.
    sideways = page.evaluate(_SIDEWAYS, width)
    assert not sideways, f"{page.url} does not fit {width}px:\n" + "\n".join(sideways[:15])


def draw_charts(page: Page) -> None:
    """Scroll each chart into view in turn, as a reader does, and wait until plotly has drawn it:
    a chart's code loads only once its box comes near the window (components/plot.py)."""
    boxes = page.locator("[data-chart-box]")
    expect(boxes.first).to_be_attached()
    for n in range(boxes.count()):
        boxes.nth(n).scroll_into_view_if_needed()
        expect(boxes.nth(n).locator(".js-plotly-plot .main-svg").first).to_be_visible()


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


class Moment:
    """Whether the page, at any one moment since `watch_for` was called, met a condition: for a
    state that lasts as long as the server takes (a sandbox sync can end within a second), which a
    poll after the click may miss. Every change of the page is checked as it happens."""

    def __init__(self, page: Page, key: str, what: str) -> None:
        self.page, self.key, self.what = page, key, what

    def expect_seen(self, *, timeout_ms: float = 10_000) -> None:
        try:
            self.page.wait_for_function(f"window.__moments[{self.key!r}] === true", timeout=timeout_ms)
        except Exception as missed:
            raise AssertionError(f"Never seen: {self.what}") from missed


def watch_for(page: Page, condition: str, *, what: str) -> Moment:
    """Start watching for a moment at which the JavaScript expression `condition` (over
    `document`) is true; call `expect_seen()` on the answer after the action."""
    key = uuid.uuid4().hex
    page.evaluate(
        """([key, condition]) => {
            window.__moments = window.__moments || {};
            const met = new Function("document", "return (" + condition + ");");
            const check = () => { if (!window.__moments[key] && met(document)) window.__moments[key] = true; };
            window.__moments[key] = false;
            new MutationObserver(check).observe(document.body, {
                subtree: true, childList: true, attributes: true, characterData: true,
            });
            check();
        }""",
        [key, condition],
    )
    return Moment(page, key, what)


def wait_until(
    check, *, timeout_s: float, every_s: float = 0.25, what: str = "the condition", page: Page | None = None
) -> None:
    """Poll `check()` until it is true; fails with `what` after `timeout_s` seconds.

    With `page`, it waits through the page: a route this test process serves (`route_web_socket`)
    passes the page's messages on only while a Playwright call runs, never during a plain sleep."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"Waited {timeout_s:.0f} s for {what}"
        if page is None:
            time.sleep(every_s)
        else:
            page.wait_for_timeout(every_s * 1000)


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
