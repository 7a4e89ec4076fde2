"""Idle tabs: 100 open studio tabs for 60 s → the database statements they cause (the target is 0).

The backend is served for real (the ASGI app `reflex run` serves, with its lifespan, under uvicorn,
as tests/raw_socket.py serves it) with COUNT_STATEMENTS on: it counts the statements it sends for
pages and requests (not for jobs) and says how many at /health/statements. The tabs are raw
websocket clients speaking Reflex's protocol (`tests.raw_socket.RawTab`): each opens /studio with
its creator's session cookie, as a browser does (hydrate, the page's load, the watcher), and then
answers Engine.IO pings and reads whatever it is sent until the window ends.

Two windows, each after the tabs' first reads have settled:
- idle: nothing of theirs runs (a studio with no work has no watcher);
- watching: each creator has a generation waiting (no job worker runs, so it stays queued), and
  every tab's watcher waits for a pushed change (one LISTEN connection for the process).
Reported: the statements counted during each window (and the updates the tabs were sent), with the
statements the tabs' opening cost as the scale (what one page load asks of the database).

Run alone: `python -m bench.idle_tabs [--tabs 100] [--creators 10] [--seconds 60]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import time
import urllib.request

from bench.harness import log, migrated_database, temp_dir

TABS, CREATORS, SECONDS = 100, 10, 60.0
SETTLE_SECONDS = 3.0  # the tabs' first reads (hydrate, load, the watcher's first turn)
POSTGRES_DB = "bench_idle_tabs"


def _statements(base_url: str) -> int:
    with urllib.request.urlopen(f"{base_url}/health/statements", timeout=10) as reply:
        return json.loads(reply.read())["statements"]


async def _listen(tab, until: float) -> int:
    """Read the tab's socket until `until` (loop time), answering pings; returns the updates it was sent."""
    sent = 0
    loop = asyncio.get_running_loop()
    while (left := until - loop.time()) > 0:
        try:
            frame = str(await asyncio.wait_for(tab.socket.recv(), left))
        except TimeoutError:
            break
        if frame == "2":  # Engine.IO ping
            await tab.socket.send("3")
        else:
            sent += 1
    return sent


async def _open(tabs, tokens: list[str], wait_for: str) -> None:
    """Every tab opens /studio with its creator's cookie and reads until the page shows `wait_for`."""

    def shown(frames: list[str]) -> bool:
        return any(wait_for in frame for frame in frames)

    # A few at a time, as people open tabs: a hundred hydrates at once only measure the queue.
    gate = asyncio.Semaphore(10)

    async def one(tab, token: str) -> None:
        async with gate:
            await tab.connect(cookie=token, path="/studio", until=shown)

    await asyncio.gather(*(one(tab, token) for tab, token in zip(tabs, tokens, strict=True)))


async def _window(base_url: str, tabs, seconds: float) -> dict:
    await asyncio.sleep(SETTLE_SECONDS)
    loop = asyncio.get_running_loop()
    for tab in tabs:  # whatever is left of the first reads
        await _listen(tab, loop.time() + 0.05)
    before = await asyncio.to_thread(_statements, base_url)
    started = time.monotonic()
    sent = await asyncio.gather(*(_listen(tab, loop.time() + seconds) for tab in tabs))
    statements = await asyncio.to_thread(_statements, base_url) - before
    return {"statements": statements, "updates_sent": sum(sent), "seconds": time.monotonic() - started}


async def _measure(tab_count: int, creators: int, seconds: float) -> dict:
    from _pytest.monkeypatch import MonkeyPatch

    from assetry import db
    from assetry.services import studio
    from tests.integration.test_studio import image, new_user
    from tests.raw_socket import RawTab, record_policies, serve_backend

    await record_policies()
    users = [await new_user(f"tabs-{secrets.token_hex(4)}@example.com") for _ in range(creators)]
    tokens = [users[i % creators][1] for i in range(tab_count)]
    result: dict = {"tabs": tab_count, "creators": creators}
    tabs: list[RawTab] = []
    patch = MonkeyPatch()
    with temp_dir("idle-tabs-web") as workdir:
        try:
            async with serve_backend(patch, str(workdir)) as base_url:
                tabs += [RawTab(base_url) for _ in range(tab_count)]
                log(f"idle tabs: opening {tab_count} studio tabs of {creators} creators")
                before = await asyncio.to_thread(_statements, base_url)
                await _open(tabs, tokens, "Costs free")
                result["opening_statements_per_tab"] = (
                    await asyncio.to_thread(_statements, base_url) - before
                ) / tab_count
                log(f"idle tabs: nothing runs; listening {seconds:.0f} s")
                result["idle"] = await _window(base_url, tabs, seconds)

                for user_id, _token in users:
                    await studio.start(user_id, image("a lighthouse in a storm"), client_request_id="waits")
                await _open(tabs, tokens, "Waiting for a worker")  # each reload starts its watcher
                log(f"idle tabs: a generation waits for each creator; listening {seconds:.0f} s")
                result["watching"] = await _window(base_url, tabs, seconds)
        finally:
            for tab in tabs:
                await tab.close()
            patch.undo()
            await db.dispose_engines()
    return result


def measure(tabs: int = TABS, creators: int = CREATORS, seconds: float = SECONDS) -> dict:
    from bench.job_overhead import _environment

    settings = {"COUNT_STATEMENTS": "true", "JOB_WORKER_IN_APP": "false"}
    with (
        _environment(settings),
        temp_dir("idle-tabs") as data_dir,
        migrated_database(data_dir, postgres_name=POSTGRES_DB),
    ):
        return asyncio.run(_measure(tabs, creators, seconds))


def report(results: dict) -> list[str]:
    lines = [
        f"\nIdle tabs: {results['tabs']} open studio tabs of {results['creators']} creators "
        "(raw websocket clients), statements the backend sent for pages",
        f"  opening a studio tab (hydrate, load, watcher): {results['opening_statements_per_tab']:.1f} statements",
    ]
    for key, label in (("idle", "nothing runs"), ("watching", "a generation waits, every tab watches")):
        window = results[key]
        lines.append(
            f"  {label:<40} {window['seconds']:>5.0f} s: {window['statements']} statements, "
            f"{window['updates_sent']} updates sent"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tabs", type=int, default=TABS)
    parser.add_argument("--creators", type=int, default=CREATORS)
    parser.add_argument("--seconds", type=float, default=SECONDS)
    args = parser.parse_args()
    print("\n".join(report(measure(args.tabs, args.creators, args.seconds))))


if __name__ == "__main__":
    main()
