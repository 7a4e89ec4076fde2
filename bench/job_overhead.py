"""Job overhead of the studio: Generate → job running, and provider done → result visible.

The provider is the Anthropic Messages imitation (`assetry.sandbox.anthropic`) under uvicorn
on 127.0.0.1, reached by the real anthropic SDK; it answers instantly, so what is measured
is ours: the durable job, the worker's claim, saving outputs, and how the studio notices.
A timing wrapper around the imitation records when its answer left (epoch seconds).

Service level (the embedded Postgres, and BENCH_POSTGRES_URL's server in a database of its own): `services.studio.start`
(what the Generate button calls) with the procrastinate worker running in the same process
(`jobs.engine.run_worker`, as the app's lifespan task runs it; it is woken by NOTIFY).
- Generate → claimed: the job's "started" event in procrastinate's events table minus the
  moment `studio.start` was called; Generate → running: the generation's `started_at`.
- provider done → visible: from the imitation's answer until the page's watcher would show it:
  a subscription to the user's changes (`services.changes`, one LISTEN connection) is woken,
  then `studio.overview` (what the studio page reads on each wake, one transaction) no longer
  lists the generation as running and shows it succeeded.
Baseline: one direct call of the provider (`AnthropicProvider.captions`) against the same
imitation: the ratio is Generate → visible over that call, what the job machinery costs.

Browser (the production build served as tests/e2e/conftest.py serves it, headless Chromium):
click Generate on /studio → the "Running" badge shown; provider done → the result card shown;
an image from fal's imitation (`assetry.sandbox.fal`, kept in fal's queue): click Cancel →
"Cancelling…" shown, and fal's confirmation (its answer to the cancel has left) → "Cancelled"
shown, the issue's measure (the row says "Cancelled" only once fal has confirmed). Baseline in the same run: a bare Reflex event
round trip (choose "Image" → the server sends the image models and the page shows them).
With an instant provider the job could end before the page renders "Running", so here the
imitation holds its answer until the page shows "Running", then answers at once. Times are read from the page's clock (Date.now()) and
the imitation's (time.time()), the same machine clock.

Run alone: `python -m bench.job_overhead [--runs 20] [--backends embedded postgres] [--no-browser]`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

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

DEFAULT_RUNS = 20
BACKENDS = ("embedded", "postgres")
POSTGRES_DB = "bench_job_overhead"
VISIBLE_TIMEOUT_S = 30.0


class TimedProvider:
    """ASGI wrapper: records when each /v1/messages answer has been sent; can hold answers."""

    def __init__(self, app) -> None:
        self.app = app
        self.answered: list[float] = []
        self.release = threading.Event()
        self.release.set()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/v1/messages"):
            await self.app(scope, receive, send)
            return
        if not self.release.is_set():  # set from the browser-driving thread
            await asyncio.to_thread(self.release.wait)

        async def timed_send(message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.answered.append(time.time())

        await self.app(scope, receive, timed_send)


class TimedCancels:
    """ASGI wrapper of fal's imitation: records when each answer to a cancel has been sent."""

    def __init__(self, app) -> None:
        self.app = app
        self.confirmed: list[float] = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/cancel"):
            await self.app(scope, receive, send)
            return

        async def timed_send(message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.confirmed.append(time.time())

        await self.app(scope, receive, timed_send)


@contextmanager
def _served(app):
    """An ASGI app on a free 127.0.0.1 port (uvicorn in a thread); yields its base URL."""
    import uvicorn

    sock = socket.socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def serve_fal():
    """fal's imitation, every request kept in its queue until cancelled; yields (base URL, TimedCancels)."""
    from assetry.sandbox.fal import DEFAULT_KEY, FalImitation

    timed = TimedCancels(FalImitation(key=DEFAULT_KEY, polls_in_queue=10**9).app)
    with _served(timed) as base:
        yield {"FAL_KEY": DEFAULT_KEY, "FAL_QUEUE_URL": base}, timed


@contextmanager
def serve_provider():
    """The Anthropic imitation on a free 127.0.0.1 port; yields (base URL, TimedProvider)."""
    from assetry.sandbox.anthropic import create_app

    timed = TimedProvider(create_app())
    with _served(timed) as base:
        yield base, timed


@contextmanager
def _environment(values: dict[str, str]):
    """These environment variables for the duration (the app's settings read them)."""
    import os

    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _provider_env(base: str) -> dict[str, str]:
    from assetry.sandbox.anthropic import SANDBOX_KEY

    return {
        "ANTHROPIC_API_KEY": SANDBOX_KEY,
        "ANTHROPIC_BASE_URL": base,
        "DAILY_GENERATION_QUOTA": "10000",
    }


async def _new_user(name: str = "Bench Creator") -> tuple[uuid.UUID, str]:
    from assetry.services import accounts

    form = SignUp(
        email=f"jobs-{secrets.token_hex(5)}@example.com",
        password=secrets.token_urlsafe(18),
        display_name=name,
        age_confirmed=True,
        accepted_policies=True,
    )
    user, token = await create_account(form, accounts.Client(ip="127.0.0.1", user_agent="bench"))
    return user.id, token


def _caption_request(prompt: str):
    from assetry.config import get_settings
    from assetry.services import studio

    return studio.StudioRequest(
        kind="caption",
        prompt=prompt,
        model_key=f"anthropic:{get_settings().anthropic_caption_model}",
        count=3,
    )


async def _visible(user_id: uuid.UUID, generation_id: uuid.UUID) -> bool:
    """What the studio page reads on each refresh: gone from in progress, succeeded in the latest."""
    from assetry.services import studio

    found = await studio.overview(user_id, ended=6)
    if any(r.generation.id == generation_id for r in found.running):
        return False
    return any(g.id == generation_id and g.status == "succeeded" for g, _ in found.ended)


async def _service_runs(timed: TimedProvider, runs: int) -> dict:
    import sqlalchemy as sa

    from assetry import db
    from assetry.config import get_settings
    from assetry.integrations.anthropic import AnthropicProvider
    from assetry.integrations.generation import CaptionRequest
    from assetry.jobs import engine
    from assetry.services import changes, studio

    settings = get_settings()
    user_id, _ = await _new_user()
    worker = asyncio.create_task(engine.run_worker())
    subscribed = changes.listener().subscribe(user_id)
    subscription = await subscribed.__aenter__()
    measured = {"claimed": [], "running": [], "done_to_visible": [], "total": []}
    try:
        for run in range(-1, runs):  # run -1 is a warm-up
            # A random pause, so Generate does not fall at the same point of the worker's poll cycle.
            await asyncio.sleep(random.uniform(0, 0.5))
            answered = len(timed.answered)
            clicked = time.time()
            generation = await studio.start(
                user_id, _caption_request(f"Bench run {run}: a barista pouring latte art"),
                client_request_id=uuid.uuid4().hex,
            )  # fmt: skip
            deadline = time.monotonic() + VISIBLE_TIMEOUT_S
            while len(timed.answered) == answered:
                if time.monotonic() > deadline:
                    raise TimeoutError("the provider was never called")
                await asyncio.sleep(0.001)
            done = timed.answered[answered]
            while not await _visible(user_id, generation.id):  # read again on each pushed change
                if not await subscription.wait(deadline - time.monotonic()):
                    raise TimeoutError("the result never became visible")
            seen = time.time()
            if run < 0:
                continue
            current = await studio.get(user_id, generation.id)
            async with db.service_session() as session:
                claimed_at = await session.scalar(
                    sa.text(
                        "SELECT min(at) FROM procrastinate_events WHERE job_id = :id AND type = 'started'"
                    ),
                    params={"id": current.job_id},
                )
            measured["claimed"].append((claimed_at.timestamp() - clicked) * 1000)
            measured["running"].append((current.started_at.timestamp() - clicked) * 1000)
            measured["done_to_visible"].append((seen - done) * 1000)
            measured["total"].append((seen - clicked) * 1000)
        direct = []
        provider = AnthropicProvider(
            api_key=settings.anthropic_api_key.get_secret_value(),
            base_url=settings.anthropic_base_url,
            timeout_s=settings.anthropic_timeout_s,
            max_retries=0,
        )
        request = CaptionRequest(
            prompt="a barista pouring latte art", model=settings.anthropic_caption_model, count=3,
            tone="friendly", length="short", hashtags=True, examples=[],
        )  # fmt: skip
        for run in range(-1, runs):
            started = time.perf_counter()
            await provider.captions(request)
            if run >= 0:
                direct.append((time.perf_counter() - started) * 1000)
        if hasattr(provider, "aclose"):
            await provider.aclose()
    finally:
        await subscribed.__aexit__(None, None, None)
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await db.dispose_engines()
    return {key: summary(values) for key, values in measured.items()} | {"baseline_direct": summary(direct)}


BURST = 1_000


async def _burst_runs(runs: int) -> dict:
    """Generate → running while a worker chews through 1,000 queued syncs (the hourly burst).

    The syncs are of accounts that are gone, so each ends at once: what is measured is how
    soon the generation jumps the queue, not how long a sync holds a worker."""
    import sqlalchemy as sa

    from assetry import db
    from assetry.jobs import engine, queue
    from assetry.services import connections, studio

    user_id, _ = await _new_user("Bench Burst")
    worker = asyncio.create_task(engine.run_worker())
    started, waiting = [], []
    try:
        for run in range(-1, runs):
            async with db.service_session() as session:
                for _ in range(BURST):
                    await queue.enqueue(session, connections.SYNC_TASK, {"account_id": str(uuid.uuid4())})
            await asyncio.sleep(random.uniform(0.1, 0.3))  # the worker is busy with the burst
            clicked = time.time()
            generation = await studio.start(
                user_id, _caption_request(f"Burst run {run}"), client_request_id=uuid.uuid4().hex
            )
            deadline = time.monotonic() + VISIBLE_TIMEOUT_S
            while (current := await studio.get(user_id, generation.id)).started_at is None:
                if time.monotonic() > deadline:
                    raise TimeoutError("the generation never started")
                await asyncio.sleep(0.005)
            async with db.service_session() as session:
                left = await session.scalar(
                    sa.text(
                        "SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo' AND task_name = :t"
                    ),
                    params={"t": connections.SYNC_TASK},
                )
                await session.exec(
                    sa.text("DELETE FROM procrastinate_jobs WHERE status = 'todo' AND task_name = :t"),
                    params={"t": connections.SYNC_TASK},
                )
            if run >= 0:
                started.append((current.started_at.timestamp() - clicked) * 1000)
                waiting.append(left)
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await db.dispose_engines()
    return {"started": summary(started), "syncs_still_waiting": summary(waiting)}


def measure_burst(runs: int = DEFAULT_RUNS) -> dict:
    with serve_provider() as (base, _timed), _environment(_provider_env(base)):
        log(f"job overhead, {BURST:,} queued syncs + one generation: {runs} runs")
        with temp_dir("jobs-burst") as data_dir, migrated_database(data_dir, postgres_name=POSTGRES_DB):
            return asyncio.run(_burst_runs(runs))


def measure_service(runs: int = DEFAULT_RUNS, backends: tuple[str, ...] = BACKENDS) -> dict:
    results = {}
    with serve_provider() as (base, timed), _environment(_provider_env(base)):
        for backend in backends:
            log(f"job overhead, service level, {backend}: {runs} generations")
            with (
                temp_dir(f"jobs-{backend}") as data_dir,
                migrated_database(data_dir, postgres_name=None if backend == "embedded" else POSTGRES_DB),
            ):
                results[backend] = asyncio.run(_service_runs(timed, runs))
    return results


# ----- in the browser ----------------------------------------------------------------------------

_PROBE = """
(() => {
  const bench = (window.__bench = {});
  window.addEventListener("click", (event) => {
    const target = event.target.closest ? event.target : event.target.parentElement;
    if (target.closest("#generate")) bench.clicked = Date.now();
    if (target.closest(".in-progress button")) bench.cancelClicked = Date.now();
    if (target.closest("[role=radio]")) bench.kindClicked = Date.now();
  }, true);
  const look = () => {
    if (bench.kindClicked !== undefined && bench.kindShown === undefined) {
      const model = document.querySelector("[role=combobox]");
      if (model && bench.kindModel && model.textContent.includes(bench.kindModel)) bench.kindShown = Date.now();
    }
    const prompt = bench.prompt;
    if (!prompt) return;
    if (bench.cancelClicked !== undefined) {
      for (const row of document.querySelectorAll(".in-progress")) {
        if (bench.cancelling === undefined && row.textContent.includes(prompt)
            && row.textContent.includes("Cancelling")) bench.cancelling = Date.now();
      }
      for (const card of document.querySelectorAll(".generation-card")) {
        if (bench.cancelled === undefined && card.textContent.includes(prompt)
            && card.textContent.includes("Cancelled")) bench.cancelled = Date.now();
      }
    }
    if (bench.running === undefined) {
      for (const row of document.querySelectorAll(".in-progress")) {
        if (row.textContent.includes(prompt) && row.textContent.includes("Running")) bench.running = Date.now();
      }
    }
    if (bench.card === undefined) {
      for (const card of document.querySelectorAll(".generation-card")) {
        if (card.textContent.includes(prompt) && card.textContent.includes("Done")) bench.card = Date.now();
      }
    }
  };
  new MutationObserver(look).observe(document, { subtree: true, childList: true, characterData: true });
})();
"""


def _seed_browser_user(data_dir: Path) -> str:
    """A creator in the app's database (services.accounts); returns a session token."""

    async def create() -> str:
        from assetry import db

        try:
            _, token = await _new_user("Bench Studio")
            return token
        finally:
            await db.dispose_engines()

    return asyncio.run(create())


def _hydrated(page) -> None:
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('h1,h2,h3')).some(h => h.textContent === 'Studio')"
    )


def measure_browser(runs: int = DEFAULT_RUNS) -> dict:
    from assetry.state.session import SESSION_COOKIE

    measured = {
        "click_to_running": [], "done_to_card": [], "click_to_card": [], "cancel_to_cancelling": [],
        "confirmed_to_cancelled": [], "cancel_to_cancelled": [], "bare_round_trip": [],
    }  # fmt: skip
    with serve_provider() as (base, timed), serve_fal() as (fal_env, fal), temp_dir("jobs-browser") as work:
        data_dir = work / "data"
        provider_env = _provider_env(base) | fal_env
        with _environment(provider_env), migrated_database(data_dir, postgres_name=None):
            token = _seed_browser_user(data_dir)
        port = free_port()
        url = f"http://localhost:{port}"
        log("job overhead, browser: building and starting the production app")
        with production_app(work, data_dir, port, **provider_env) as server:
            server.wait_http(f"{url}/health")
            server.wait_http(f"{url}/")
            with chromium_browser() as browser:
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                context.set_default_timeout(30_000)
                context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": url}])
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda error: errors.append(str(error)))
                page.add_init_script(_PROBE)
                page.goto(f"{url}/studio")
                page.wait_for_function("() => document.querySelector('#generate') !== null")
                # Hydrated: the model list is filled by the page's on_load over the websocket.
                page.get_by_text("Offline preview video").first.wait_for(timeout=30_000)
                for run in range(-1, runs):
                    # A bare Reflex event round trip: choose Image, the server sends the image models.
                    page.evaluate(
                        "() => Object.assign(window.__bench, {prompt: undefined, cancelClicked: undefined, "
                        "kindClicked: undefined, kindShown: undefined, kindModel: 'Offline preview image'})"
                    )
                    page.get_by_role("radio", name="Image").click()
                    page.wait_for_function("() => window.__bench.kindShown !== undefined", timeout=30_000)
                    bare = page.evaluate("() => window.__bench.kindShown - window.__bench.kindClicked")
                    page.evaluate("() => { window.__bench.kindModel = undefined; }")
                    page.get_by_role("radio", name="Captions").click()
                    page.get_by_role("combobox", name="Model").click()
                    page.get_by_role("option", name="Anthropic").click()
                    page.get_by_role("combobox", name="Model").filter(has_text="Anthropic").wait_for()
                    prompt = f"Browser run {run} {secrets.token_hex(3)}: latte art in slow motion"
                    page.evaluate(
                        "p => { Object.assign(window.__bench, {prompt: p, clicked: undefined, "
                        "running: undefined, card: undefined}); }",
                        prompt,
                    )
                    page.locator("#prompt").fill(prompt)
                    # The prompt reaches the server after a 250 ms debounce; the quote follows it.
                    page.wait_for_timeout(600)
                    timed.release.clear()
                    answered = len(timed.answered)
                    page.wait_for_timeout(random.uniform(0, 1000))  # any point of the refresh cycles
                    page.locator("#generate").click()
                    page.wait_for_function("() => window.__bench.running !== undefined", timeout=30_000)
                    timed.release.set()
                    page.wait_for_function("() => window.__bench.card !== undefined", timeout=30_000)
                    probe = page.evaluate("() => window.__bench")
                    done = timed.answered[answered] * 1000

                    # Cancel an image waiting in fal's queue: "Cancelling…" at once, "Cancelled" once
                    # fal has confirmed the cancel the worker sent it.
                    cancelled = f"Cancelled run {run} {secrets.token_hex(3)}: a slow pan over dunes"
                    page.get_by_role("radio", name="Image").click()
                    page.get_by_role("combobox", name="Model").click()
                    page.get_by_role("option", name="fal.ai").click()
                    page.get_by_role("combobox", name="Model").filter(has_text="fal.ai").wait_for()
                    page.evaluate(
                        "p => Object.assign(window.__bench, {prompt: p, running: undefined, "
                        "cancelClicked: undefined, cancelling: undefined, cancelled: undefined})",
                        cancelled,
                    )
                    page.locator("#prompt").fill(cancelled)
                    page.wait_for_timeout(600)
                    page.locator("#generate").click()
                    row = page.locator(".in-progress").filter(has_text=cancelled)
                    row.filter(has_text="In the provider's queue").wait_for()  # submitted to fal
                    page.wait_for_timeout(random.uniform(100, 600))
                    confirmations = len(fal.confirmed)
                    row.get_by_role("button", name="Cancel").click()
                    page.wait_for_function("() => window.__bench.cancelled !== undefined", timeout=30_000)
                    stopped = page.evaluate("() => window.__bench")
                    confirmed = fal.confirmed[confirmations] * 1000
                    # Back to a video model, so the next run's "Image" brings the offline image model.
                    page.get_by_role("radio", name="Video").click()
                    page.get_by_role("combobox", name="Model").filter(
                        has_text="Offline preview video"
                    ).wait_for()
                    if run < 0:
                        continue
                    measured["click_to_running"].append(probe["running"] - probe["clicked"])
                    measured["done_to_card"].append(probe["card"] - done)
                    measured["click_to_card"].append(probe["card"] - probe["clicked"])
                    # Had fal confirmed before the page showed "Cancelling…", "Cancelled" is the answer.
                    answer = stopped.get("cancelling") or stopped["cancelled"]
                    measured["cancel_to_cancelling"].append(answer - stopped["cancelClicked"])
                    measured["cancel_to_cancelled"].append(stopped["cancelled"] - stopped["cancelClicked"])
                    measured["confirmed_to_cancelled"].append(stopped["cancelled"] - confirmed)
                    measured["bare_round_trip"].append(bare)
                    log(
                        f"job overhead, browser run {run + 1}/{runs}: running after "
                        f"{measured['click_to_running'][-1]:.0f} ms, card {measured['done_to_card'][-1]:.0f} ms "
                        "after the provider answered"
                    )
                context.close()
    result = {key: summary(values) for key, values in measured.items()}
    result["page_errors"] = errors
    return result


def measure(runs: int = DEFAULT_RUNS, backends: tuple[str, ...] = BACKENDS, browser: bool = True) -> dict:
    results = {"service": measure_service(runs, backends), "burst": measure_burst(runs)}
    if browser:
        results["browser"] = measure_browser(runs)
    return results


def report(results: dict) -> list[str]:
    lines = []
    if service := results.get("service"):
        lines.append(
            "\nJob overhead, service level: studio.start + procrastinate worker (NOTIFY pickup), pushed changes, instant Anthropic imitation [ms]"
        )
        lines.append(f"  {'':<48}{'n':>3}{'median':>9}{'p95':>9}{'baseline':>10}{'ratio':>8}")
        for backend, r in service.items():
            base = r["baseline_direct"]
            for key, label in (
                ("claimed", "Generate → job claimed"),
                ("running", "Generate → job running"),
                ("done_to_visible", "provider done → visible"),
                ("total", "Generate → visible"),
            ):
                s = r[key]
                line = f"  {backend + ': ' + label:<48}{s['n']:>3}{s['median']:>9.1f}{s['p95']:>9.1f}"
                if key == "total":
                    line += f"{base['median']:>10.1f}{s['median'] / base['median']:>7.1f}×"
                lines.append(line)
        lines.append("  baseline: one direct AnthropicProvider.captions call against the same imitation")
    if burst := results.get("burst"):
        s, left = burst["started"], burst["syncs_still_waiting"]
        lines.append(f"\nA generation started while {BURST:,} syncs wait (instant provider, one worker) [ms]")
        lines.append(f"  {'':<48}{'n':>3}{'median':>9}{'p95':>9}")
        lines.append(f"  {'Generate → job running':<48}{s['n']:>3}{s['median']:>9.1f}{s['p95']:>9.1f}")
        lines.append(f"  syncs still waiting when it started: median {left['median']:.0f} of {BURST:,}")
    if browser := results.get("browser"):
        lines.append(
            "\nJob overhead in Chromium (production build, studio page woken by pushed changes) [ms]"
        )
        lines.append(f"  {'':<48}{'n':>3}{'median':>9}{'p95':>9}")
        bare = browser["bare_round_trip"]["median"]
        lines[-1] += f"{'÷ bare':>9}"
        for key, label in (
            ("bare_round_trip", "bare event round trip (choose Image → models)"),
            ("click_to_running", 'click Generate → "Running" shown'),
            ("done_to_card", "provider done → result card shown"),
            ("cancel_to_cancelling", 'click Cancel → "Cancelling…" (or done) shown'),
            ("confirmed_to_cancelled", 'fal confirmed the cancel → "Cancelled" shown'),
            ("cancel_to_cancelled", 'click Cancel → "Cancelled" shown'),
        ):
            s = browser[key]
            ratio = f"{s['median'] / bare:>8.1f}×" if bare else ""
            lines.append(f"  {label:<48}{s['n']:>3}{s['median']:>9.1f}{s['p95']:>9.1f}{ratio}")
        if browser.get("page_errors"):
            lines.append(f"  page errors: {browser['page_errors'][:3]}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS)
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--burst-only", action="store_true", help="only the 1,000 queued syncs case")
    args = parser.parse_args()
    if args.burst_only:
        print("\n".join(report({"burst": measure_burst(args.runs)})))
        return
    print("\n".join(report(measure(args.runs, tuple(args.backends), browser=not args.no_browser))))


if __name__ == "__main__":
    main()
