"""Page load in headless Chromium: first contentful paint and time to interactive.

Both are read from the page's own clock (milliseconds since navigation start):

- FCP: the `first-contentful-paint` entry of the Paint Timing API.
- TTI, as defined here: the moment the browser receives, over Reflex's websocket, the state
  update that sets `is_hydrated` to true. The backend sends it only after the socket has
  connected, the full state has been synced to the page and the page's on_load handlers have
  run, so before it, clicks reach no handler and server-filled text is still blank. On /home
  TTI is additionally not before the "Welcome, <name>" heading shows the signed-in user's name
  (filled in by the on_load that resolves the session cookie).

Each run uses a fresh browser context (no cache, no cookies except the session for /home).
One discarded navigation per page warms the servers first; then navigations rotate between
our /, our /home and the baseline, a blank Reflex app's /.

Run alone: `python -m bench.page_load [RUNS]`.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
from contextlib import contextmanager
from pathlib import Path

from bench.harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    baseline_app,
    free_port,
    log,
    make_blank_app,
    our_app,
    summary,
    temp_dir,
)
from tests.account_setup import SignUp, create_account

DEFAULT_RUNS = 5
DISPLAY_NAME = "Bench Creator"
NAVIGATION_TIMEOUT_MS = 30_000

# Installed before any page script: records FCP, the hydrating websocket message, and (when
# asked) the first time a heading contains the expected text.
_PROBE = """
(() => {
  const bench = (window.__bench = { errors: [] });
  const expected = %s;
  const settle = () => {
    if (bench.tti === undefined && bench.hydrated !== undefined
        && (expected === null || bench.shown !== undefined)) {
      bench.tti = Math.max(bench.hydrated, bench.shown ?? 0);
    }
  };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.name === "first-contentful-paint") bench.fcp ??= entry.startTime;
    }
  }).observe({ type: "paint", buffered: true });
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      bench.socketCreated ??= performance.now();
      this.addEventListener("open", () => { bench.socketOpen ??= performance.now(); });
      this.addEventListener("message", (event) => {
        if (bench.hydrated === undefined && typeof event.data === "string"
            && /is_hydrated_rx_state_\\\\?"\\s*:\\s*true/.test(event.data)) {
          bench.hydrated = performance.now();
          settle();
        }
      });
    }
  };
  if (expected !== null) {
    const observer = new MutationObserver(() => {
      for (const heading of document.querySelectorAll("h1, h2, h3, h4, h5, h6")) {
        if (heading.textContent.includes(expected)) {
          bench.shown = performance.now();
          observer.disconnect();
          settle();
          return;
        }
      }
    });
    observer.observe(document, { subtree: true, childList: true, characterData: true });
  }
})();
"""


def _probe(expected_heading: str | None) -> str:
    return _PROBE % json.dumps(expected_heading)


def sign_up_user(data_dir: Path) -> str:
    """Create an account in the app's database through services.accounts; returns a session token."""
    saved = os.environ.get("DATA_DIR")
    os.environ["DATA_DIR"] = str(data_dir)
    from assetry import db
    from assetry.config import get_settings
    from assetry.services import accounts

    get_settings.cache_clear()

    async def create() -> str:
        try:
            form = SignUp(
                email=f"bench-{secrets.token_hex(4)}@example.com",
                password=secrets.token_urlsafe(24),
                display_name=DISPLAY_NAME,
                age_confirmed=True,
                accepted_policies=True,
            )
            _user, token = await create_account(form, accounts.Client(ip="127.0.0.1", user_agent="bench"))
            return token
        finally:
            await db.dispose_engines()

    try:
        return asyncio.run(create())
    finally:
        if saved is None:
            os.environ.pop("DATA_DIR", None)
        else:
            os.environ["DATA_DIR"] = saved
        get_settings.cache_clear()


@contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def load_once(browser, url: str, *, cookies=(), expected_heading: str | None = None) -> dict:
    """One navigation in a fresh context; returns FCP and TTI in ms since navigation start."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        if cookies:
            context.add_cookies(list(cookies))
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.add_init_script(_probe(expected_heading))
        page.goto(url, wait_until="load", timeout=NAVIGATION_TIMEOUT_MS)
        try:
            page.wait_for_function(
                "() => window.__bench.tti !== undefined && window.__bench.fcp !== undefined",
                timeout=NAVIGATION_TIMEOUT_MS,
            )
        except Exception as error:
            seen = page.evaluate("() => window.__bench")
            raise RuntimeError(f"{url} never became interactive: probe {seen}, errors {errors}") from error
        probe = page.evaluate("() => window.__bench")
        return {
            "fcp": probe["fcp"],
            "tti": probe["tti"],
            "socket_open": probe.get("socketOpen"),
            "errors": errors,
        }
    finally:
        context.close()


def _summarise(measured: list[dict]) -> dict:
    return {
        "fcp": summary([m["fcp"] for m in measured]),
        "tti": summary([m["tti"] for m in measured]),
        "socket_open": summary([m["socket_open"] for m in measured if m["socket_open"] is not None]),
        "console_errors": sorted({e for m in measured for e in m["errors"]}),
    }


def measure(runs: int = DEFAULT_RUNS) -> dict:
    """/ and /home of this checkout (`make run`) and / of a blank Reflex app, both served at once.

    Navigations rotate between the three pages, so load from other work weighs on all alike.
    """
    with temp_dir("data") as data_dir, temp_dir("blank") as parent:
        app_dir = make_blank_app(parent)
        our_port = free_port()
        base_port = free_port()
        while base_port == our_port:
            base_port = free_port()
        ours, base = f"http://127.0.0.1:{our_port}", f"http://127.0.0.1:{base_port}"
        log("page load: starting assetry (make run) and the blank Reflex app")
        with our_app(our_port, data_dir) as our_server, baseline_app(app_dir, base_port) as base_server:
            our_server.wait_http(f"{ours}/")
            base_server.wait_http(f"{base}/")
            from assetry.state.session import SESSION_COOKIE

            session = {"name": SESSION_COOKIE, "value": sign_up_user(data_dir), "url": ours}
            pages = {
                ("assetry", "/"): (f"{ours}/", {}),
                ("assetry", "/home"): (
                    f"{ours}/home",
                    {"cookies": [session], "expected_heading": f"Welcome, {DISPLAY_NAME}"},
                ),
                ("baseline", "/"): (f"{base}/", {}),
            }
            measured: dict[tuple[str, str], list[dict]] = {key: [] for key in pages}
            with chromium() as browser:
                for url, options in pages.values():
                    load_once(browser, url, **options)  # warm-up, discarded
                for run in range(1, runs + 1):
                    for key, (url, options) in pages.items():
                        measured[key].append(load_once(browser, url, **options))
                        fcp, tti = measured[key][-1]["fcp"], measured[key][-1]["tti"]
                        log(f"page load, {' '.join(key)} run {run}/{runs}: FCP {fcp:.0f}, TTI {tti:.0f} ms")
    results: dict[str, dict] = {}
    for (app, path), loads in measured.items():
        results.setdefault(app, {})[path] = _summarise(loads)
    return results


if __name__ == "__main__":
    from bench.__main__ import print_report

    print_report({"page_load": measure(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_RUNS)})
