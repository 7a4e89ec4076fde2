"""The library page with 10,000 generations, in headless Chromium against the production build.

A temporary DATA_DIR (its embedded Postgres) is migrated and seeded directly through the models and the
media store: one creator with 10,000 image generations, each with one output, a small real
PNG file (a 256×256 gradient, ~2 kB) in the local media store, saved as the studio saves one
(with its library cover beside it, `services.covers`). The app is served as
tests/e2e/conftest.py serves it. Each run opens /library in a fresh browser context with
the creator's session cookie (desktop, 1280×800: the grid of cards).

- first render: navigation start → the first page of cards (48) in the page, and → the
  images of those on screen loaded (each card's cover comes inside the page, a data: URL; a file
  without one is a signed /media URL checked against the session, loaded lazily when scrolled near).
- scroll to the end: from first render, scroll to the bottom again and again (the next page
  loads by itself as the end of the list comes near) until the oldest generation's card is on
  screen (208 more pages of 48); also the median and p95 time of one page (scroll → its cards
  in the page), the first and the last, and the most cards the page held at once (it keeps
  a window of pages, so the DOM does not grow with the library).
Baseline: the same page for a creator with an empty library, navigation start → the page
hydrated (its on_load has answered), so the ratio is what showing 48 cards of 1,000 costs.

Run alone: `python -m bench.library [--runs 5] [--generations 1000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import secrets
import uuid
from datetime import timedelta

from bench.harness import (
    chromium_browser,
    free_port,
    log,
    migrated_database,
    production_app,
    summary,
    temp_dir,
)
from tests.account_setup import SignUp, create_account

DEFAULT_RUNS = 3
DEFAULT_GENERATIONS = 10_000
PAGE_SIZE = 48  # assetry.pages.library.PAGE_SIZE
TIMEOUT_MS = 60_000

_PROBE = """
(() => {
  const bench = (window.__bench = {});
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        if (bench.hydrated === undefined && typeof event.data === "string"
            && /is_hydrated_rx_state_\\\\?"\\s*:\\s*true/.test(event.data)) bench.hydrated = performance.now();
        // A page of cards arrived: the server's part of a page ends here, the browser's begins.
        if (typeof event.data === "string" && event.data.includes("shelf_")) bench.delta = performance.now();
      });
    }
  };
  const look = () => {
    if (bench.cards === undefined && document.querySelectorAll(".generation-card").length >= %d) {
      bench.cards = performance.now();
    }
    if (bench.cards !== undefined && bench.images === undefined) {
      // The covers on screen: the ones below load lazily, as they are scrolled near.
      const images = Array.from(document.querySelectorAll(".generation-card img"))
        .filter((img) => img.getBoundingClientRect().top < window.innerHeight);
      if (images.length && images.every((img) => img.complete && img.naturalWidth > 0)) {
        bench.images = performance.now();
      } else {
        setTimeout(look, 5);
      }
    }
  };
  new MutationObserver(look).observe(document, { subtree: true, childList: true });
  document.addEventListener("load", look, true);
})();
"""


def _png(seed: int) -> bytes:
    from PIL import Image

    rng = random.Random(seed)
    start, end = [rng.randrange(256) for _ in range(3)], [rng.randrange(256) for _ in range(3)]
    image = Image.new("RGB", (256, 256))
    image.putdata(
        [tuple(s + (e - s) * (x + y) // 510 for s, e in zip(start, end, strict=True))
         for y in range(256) for x in range(256)]
    )  # fmt: skip
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


async def _seed(generations: int) -> tuple[str, str]:
    """The creator with `generations` image generations and the one with none; their session tokens."""
    from assetry import db
    from assetry.models import Generation, GenerationOutput
    from assetry.models.base import utcnow
    from assetry.services import accounts, covers, media

    async def creator(name: str):
        form = SignUp(
            email=f"library-{secrets.token_hex(5)}@example.com",
            password=secrets.token_urlsafe(18),
            display_name=name,
            age_confirmed=True,
            accepted_policies=True,
        )
        return await create_account(form, accounts.Client(ip="127.0.0.1", user_agent="bench"))

    try:
        (user, token), (_, empty_token) = await creator("Bench Library"), await creator("Bench Empty")
        store = media.store()
        pictures = [_png(seed) for seed in range(16)]
        now = utcnow()
        rows = []
        for n in range(generations):
            made = now - timedelta(hours=n)
            generation = Generation(
                user_id=user.id, kind="image", prompt=f"Image {n + 1}: a surfer at sunset, golden hour",
                options={"aspect_ratio": "1:1", "count": 1}, provider="offline", model="preview-image",
                seed=n, status="succeeded", created_at=made, started_at=made, finished_at=made,
            )  # fmt: skip
            picture = pictures[n % len(pictures)]
            key = media.key_for(user.id, generation.id, 0, "image/png")
            await covers.save(store, key, picture, "image/png")
            rows += [
                generation,
                GenerationOutput(
                    id=uuid.uuid4(), user_id=user.id, generation_id=generation.id, position=0,
                    storage_key=key, content_type="image/png", size_bytes=len(picture),
                    width=256, height=256, created_at=made,
                ),
            ]  # fmt: skip
        async with db.service_session() as session:
            session.add_all(rows[0::2])
            await session.flush()
            session.add_all(rows[1::2])
        return token, empty_token
    finally:
        await db.dispose_engines()


def _open(browser, url: str, cookie: dict, cards: int):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    context.add_cookies([cookie])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.add_init_script(_PROBE % cards)
    page.goto(f"{url}/library", wait_until="commit")
    return context, page, errors


_SHOWN = """() => {
  const said = document.querySelector('#library-summary')?.textContent || '';
  const found = said.match(/([\\d,]+) of /);
  return found ? Number(found[1].replaceAll(',', '')) : 0;
}"""


def _scroll_to_end(page, total: int) -> tuple[float, list[float], list[float], int]:
    """Scroll to the bottom until the oldest card is on screen; returns ms, each page's ms, the part
    of each until its cards arrived over the websocket, the most cards at once."""
    pages, arrived, most = [], [], 0
    started = page.evaluate("() => performance.now()")
    while (shown := page.evaluate(_SHOWN)) < total:
        scrolled = page.evaluate(
            "() => { window.scrollTo(0, document.body.scrollHeight); return performance.now(); }"
        )
        page.wait_for_function(f"() => ({_SHOWN})() > {shown}", timeout=TIMEOUT_MS)
        done, delta = page.evaluate("() => [performance.now(), window.__bench.delta]")
        pages.append(done - scrolled)
        arrived.append(delta - scrolled)
        most = max(most, page.locator(".generation-card").count())
    oldest = page.locator(".generation-card").filter(has_text=f"Image {total}:")
    oldest.first.scroll_into_view_if_needed()
    finished = page.evaluate("() => performance.now()")
    if page.get_by_role("button", name="Load more").count():
        raise RuntimeError("Load more is still offered with every card shown")
    return finished - started, pages, arrived, most


def measure(runs: int = DEFAULT_RUNS, generations: int = DEFAULT_GENERATIONS) -> dict:
    from assetry.state.session import SESSION_COOKIE

    first_page = min(PAGE_SIZE, generations)
    measured: dict[str, list] = {
        "cards": [],
        "images": [],
        "scroll": [],
        "pages": [],
        "arrived": [],
        "empty": [],
        "most": [],
    }
    errors: set[str] = set()
    with temp_dir("library") as work:
        data_dir = work / "data"
        with migrated_database(data_dir, postgres_name=None):
            log(f"library: seeding {generations:,} generations with PNG outputs")
            token, empty_token = asyncio.run(_seed(generations))
        port = free_port()
        url = f"http://localhost:{port}"
        log("library: building and starting the production app")
        with production_app(work, data_dir, port) as server:
            server.wait_http(f"{url}/health")
            server.wait_http(f"{url}/")
            full = {"name": SESSION_COOKIE, "value": token, "url": url}
            empty = {"name": SESSION_COOKIE, "value": empty_token, "url": url}
            with chromium_browser() as browser:
                for run in range(-1, runs):  # run -1 warms the server up
                    context, page, seen = _open(browser, url, empty, 10**9)
                    page.wait_for_function("() => window.__bench.hydrated !== undefined", timeout=TIMEOUT_MS)
                    page.get_by_text("Nothing here yet.").wait_for()
                    empty_ms = page.evaluate("() => window.__bench.hydrated")
                    context.close()
                    context, page, more_seen = _open(browser, url, full, first_page)
                    page.wait_for_function("() => window.__bench.images !== undefined", timeout=TIMEOUT_MS)
                    probe = page.evaluate("() => window.__bench")
                    scroll_ms, pages, arrived, most = _scroll_to_end(page, generations)
                    context.close()
                    errors.update(seen + more_seen)
                    if run < 0:
                        continue
                    measured["empty"].append(empty_ms)
                    measured["cards"].append(probe["cards"])
                    measured["images"].append(probe["images"])
                    measured["scroll"].append(scroll_ms)
                    measured["pages"].append(pages)
                    measured["arrived"].append(arrived)
                    measured["most"].append(most)
                    log(
                        f"library run {run + 1}/{runs}: cards {probe['cards']:.0f} ms, images "
                        f"{probe['images']:.0f} ms, scroll to the end {scroll_ms:.0f} ms ({len(pages)} pages)"
                    )
    pages, arrived = measured.pop("pages"), measured.pop("arrived")
    most = max(measured.pop("most"))
    result = {key: summary(values) for key, values in measured.items()}
    result["load_more"] = summary([ms for run in pages for ms in run]) if pages[0] else None
    result["load_more_arrived"] = summary([ms for run in arrived for ms in run]) if pages[0] else None
    result["load_more_drawn"] = (
        summary(
            [
                ms - got
                for run, got_run in zip(pages, arrived, strict=True)
                for ms, got in zip(run, got_run, strict=True)
            ]
        )
        if pages[0]
        else None
    )
    result["load_more_first"] = summary([run[0] for run in pages]) if pages[0] else None
    result["load_more_last"] = summary([run[-1] for run in pages]) if pages[0] else None
    result["pages"] = len(pages[0])
    result["generations"] = generations
    result["most_cards_at_once"] = most
    result["console_errors"] = sorted(errors)
    return result


def report(r: dict) -> list[str]:
    lines = [
        f"\nLibrary page, {r['generations']:,} generations with PNG outputs, headless Chromium, "
        "production build [ms]",
        f"  {'':<66}{'n':>3}{'median':>9}{'p95':>9}{'baseline':>10}{'ratio':>8}",
    ]
    base = r["empty"]["median"]

    def row(label: str, s: dict | None, with_base: bool = False) -> None:
        if not s:
            return
        line = f"  {label:<66}{s['n']:>3}{s['median']:>9.0f}{s['p95']:>9.0f}"
        if with_base:
            line += f"{base:>10.0f}{s['median'] / base:>7.2f}×"
        lines.append(line)

    row(f"first render: navigation → {PAGE_SIZE} cards shown", r["cards"], True)
    row("first render: navigation → the images on screen loaded", r["images"], True)
    row(f"scroll to the end ({r['pages']} more pages, loaded as the end comes near)", r["scroll"])
    row("  one page: scroll to the bottom → its cards shown", r["load_more"])
    row("    scroll → its cards arrived over the websocket (server and network)", r["load_more_arrived"])
    row("    its cards arrived → shown (the browser)", r["load_more_drawn"])
    row("  the first page (48 → 96 cards)", r["load_more_first"])
    row("  the last page (the oldest cards)", r["load_more_last"])
    lines.append(f"  most cards in the page at once: {r['most_cards_at_once']:,} (of {r['generations']:,})")
    lines.append("  baseline: an empty library, navigation → page hydrated (on_load answered)")
    if r["console_errors"]:
        lines.append(f"  browser console errors: {r['console_errors'][:3]}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS)
    parser.add_argument("--generations", type=int, default=DEFAULT_GENERATIONS)
    args = parser.parse_args()
    print("\n".join(report(measure(args.runs, args.generations))))


if __name__ == "__main__":
    main()
