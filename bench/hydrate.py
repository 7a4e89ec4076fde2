"""Websocket hydrate of one tab: bytes received and time until hydrated, Assetry against a blank Reflex app.

Each run opens a fresh websocket (a new client token) to the production build and sends
`hydrate_and_load` in the socket.io CONNECT packet as the frontend's state.js does: with the
per-state hashes of the compiled defaults (a first page load: states still at their
defaults are left out) or without them (a reconnect, as when a phone wakes a tab: the
whole snapshot). It counts the bytes of every frame received until the update that sets
`is_hydrated` to true, and the milliseconds from sending to that update (the page's
on_load handlers included). Assetry: / and /signup for a visitor, /studio signed in;
the baseline: the blank app's /.

Burst: 50 and then 200 fresh tabs open their websockets at the same moment (first loads, as
above) on / (and /studio, signed in: one creator's tabs); measured is the time from the
first connection attempt until the last tab is hydrated, and how many never were (a
connection refused or no hydrate within 30 s). Medians of the runs; the baseline is the
blank app's / under the same burst.

Navigation: headless Chromium opens /login (a visitor), /studio, /library and /analytics
(signed in) in a fresh context each time (no cache; bench.page_load's probe), and the blank
app's /; measured is the page's own clock from navigation start until the websocket brings
the update that sets `is_hydrated`. Navigations rotate between the pages, medians of the runs.

Run alone: `python -m bench.hydrate [RUNS]`.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
import uuid
from pathlib import Path

import websockets

from bench.harness import (
    baseline_app,
    free_port,
    log,
    make_blank_app,
    migrated_database,
    production_app,
    summary,
    temp_dir,
)
from bench.page_load import chromium, load_once, sign_up_user

DEFAULT_RUNS = 5
BURSTS = (50, 200)
BURST_RUNS = 3
HYDRATED = re.compile(r'"is_hydrated_rx_state_"\s*:\s*true')
HYDRATE_EVENT = "reflex___state____state.hydrate_and_load"
TIMEOUT_S = 30
NAVIGATED = ("/login", "/studio", "/library", "/analytics")


def compiled_hashes(app_dir: Path) -> list[str]:
    """The per-state hashes the build baked into the frontend (sent with a first hydrate)."""
    context = (app_dir / ".web" / "utils" / "context.jsx").read_text(encoding="utf-8")
    return json.loads(re.search(r"export const initialStateHashes = (\[.*?\])", context).group(1))


async def hydrate_once(
    base: str, path: str, *, hashes: list[str] | None, cookie: str = ""
) -> tuple[int, float]:
    """One fresh tab's hydrate of `path`: (bytes received until hydrated, milliseconds)."""
    url = base.replace("http", "ws", 1) + f"/_event/?token={uuid.uuid4()}&EIO=4&transport=websocket"
    headers = {"Origin": base} | ({"Cookie": cookie} if cookie else {})
    async with websockets.connect(url, additional_headers=headers, max_size=None) as socket:
        await socket.recv()  # Engine.IO open
        payload = {} if hashes is None else {"hashes": hashes}
        event = {"name": HYDRATE_EVENT, "payload": payload, "router_data": {"pathname": path, "asPath": path}}
        started = time.perf_counter()
        await socket.send("40/_event," + json.dumps({"event": event}))
        received = 0
        while True:
            # One deadline for the whole hydrate: the server's pings keep a socket busy without hydrating it.
            frame = await asyncio.wait_for(socket.recv(), started + TIMEOUT_S - time.perf_counter())
            if frame == "2":  # Engine.IO ping
                await socket.send("3")
                continue
            received += len(frame.encode() if isinstance(frame, str) else frame)
            if HYDRATED.search(frame if isinstance(frame, str) else frame.decode()):
                return received, (time.perf_counter() - started) * 1000


async def _burst_once(
    base: str, path: str, clients: int, hashes: list[str], cookie: str
) -> tuple[float, int]:
    """`clients` tabs hydrating `path` at once: (ms until the last one hydrated, how many failed)."""

    async def one() -> bool:
        try:
            await hydrate_once(base, path, hashes=hashes, cookie=cookie)
        except (OSError, TimeoutError, websockets.WebSocketException):
            return False
        return True

    started = time.perf_counter()
    done = await asyncio.gather(*(one() for _ in range(clients)))
    return (time.perf_counter() - started) * 1000, done.count(False)


def _measure_bursts(targets: dict[tuple[str, str], tuple[str, str, list[str], str]], runs: int) -> dict:
    measured: dict[str, dict[str, list[float]]] = {}
    for clients in BURSTS:
        for run in range(runs):
            for (app, path), (base, route, hashes, cookie) in targets.items():
                ms, failed = asyncio.run(_burst_once(base, route, clients, hashes, cookie))
                slot = measured.setdefault(f"{app} {path} {clients}", {"ms": [], "failed": []})
                slot["ms"].append(ms)
                slot["failed"].append(failed)
                log(f"burst {app} {path} × {clients}, run {run + 1}/{runs}: {ms:,.0f} ms, {failed} failed")
    return {key: {name: summary(values) for name, values in m.items()} for key, m in measured.items()}


def _measure_all(targets: dict[tuple[str, str], tuple[str, str, list[str], str]], runs: int) -> dict:
    measured: dict[tuple[str, str, str], dict[str, list[float]]] = {}
    for run in range(-1, runs):  # run -1 warms the servers up
        for (app, path), (base, route, hashes, cookie) in targets.items():
            for kind, sent in (("first load", hashes), ("reconnect", None)):
                size, ms = asyncio.run(hydrate_once(base, route, hashes=sent, cookie=cookie))
                if run < 0:
                    continue
                slot = measured.setdefault((app, path, kind), {"bytes": [], "ms": []})
                slot["bytes"].append(size)
                slot["ms"].append(ms)
                log(f"hydrate {app} {path} {kind}, run {run + 1}/{runs}: {size:,} bytes, {ms:.1f} ms")
    return {
        " ".join(key): {name: summary(values) for name, values in m.items()} for key, m in measured.items()
    }


def _measure_navigation(ours: str, base: str, session: dict, runs: int) -> dict:
    pages = {f"assetry {path}": (ours + path, [] if path == "/login" else [session]) for path in NAVIGATED}
    pages["baseline /"] = (f"{base}/", [])
    measured: dict[str, list[float]] = {key: [] for key in pages}
    with chromium() as browser:
        for url, cookies in pages.values():
            load_once(browser, url, cookies=cookies)  # warm-up, discarded
        for run in range(runs):
            for key, (url, cookies) in pages.items():
                measured[key].append(load_once(browser, url, cookies=cookies)["tti"])
                log(f"navigation {key}, run {run + 1}/{runs}: hydrated at {measured[key][-1]:,.0f} ms")
    return {key: summary(values) for key, values in measured.items()}


def measure(runs: int = DEFAULT_RUNS) -> dict:
    from assetry.state.session import SESSION_COOKIE

    with temp_dir("hydrate") as work:
        data_dir = work / "data"
        with migrated_database(data_dir, postgres_name=None):
            token = sign_up_user(data_dir)
        app_dir = make_blank_app(work)
        our_port, base_port = free_port(), free_port()
        ours, base = f"http://localhost:{our_port}", f"http://localhost:{base_port}"
        log("hydrate: building and starting the production app and the blank Reflex app")
        with (
            production_app(work, data_dir, our_port) as our_server,
            baseline_app(app_dir, base_port) as base_server,
        ):
            our_server.wait_http(f"{ours}/health")
            our_server.wait_http(f"{ours}/")
            base_server.wait_http(f"{base}/")
            our_hashes, base_hashes = compiled_hashes(work / "app"), compiled_hashes(app_dir)
            signed_in = f"{SESSION_COOKIE}={token}"
            single = _measure_all(
                {
                    ("assetry", "/"): (ours, "/", our_hashes, ""),
                    ("assetry", "/signup"): (ours, "/signup", our_hashes, ""),
                    ("assetry", "/studio"): (ours, "/studio", our_hashes, signed_in),
                    ("baseline", "/"): (base, "/", base_hashes, ""),
                },
                runs,
            )
            navigation = _measure_navigation(
                ours, base, {"name": SESSION_COOKIE, "value": token, "url": ours}, runs
            )
            bursts = _measure_bursts(
                {
                    ("assetry", "/"): (ours, "/", our_hashes, ""),
                    ("assetry", "/studio"): (ours, "/studio", our_hashes, signed_in),
                    ("baseline", "/"): (base, "/", base_hashes, ""),
                },
                min(runs, BURST_RUNS),
            )
            return {**single, "navigation": navigation, "bursts": bursts}


def report(r: dict) -> list[str]:
    lines = [
        "\nWebsocket hydrate of one fresh tab, production build (baseline: blank Reflex app /)",
        f"  {'':<44}{'n':>3}{'bytes':>9}{'ms':>8}{'base bytes':>12}{'base ms':>9}{'ratio ms':>9}",
    ]
    for kind in ("first load", "reconnect"):
        base = r[f"baseline / {kind}"]
        for path in ("/", "/signup", "/studio"):
            s = r[f"assetry {path} {kind}"]
            lines.append(
                f"  {path + ' ' + kind + (' (signed in)' if path == '/studio' else ''):<44}{s['ms']['n']:>3}"
                f"{s['bytes']['median']:>9,.0f}{s['ms']['median']:>8.1f}{base['bytes']['median']:>12,.0f}"
                f"{base['ms']['median']:>9.1f}{s['ms']['median'] / base['ms']['median']:>8.2f}×"
            )
    if navigation := r.get("navigation"):
        base = navigation["baseline /"]
        lines += [
            "\nNavigation → hydrated, Chromium, fresh context (baseline: blank app /)",
            f"  {'':<44}{'n':>3}{'ms':>9}{'p95':>9}{'base ms':>9}{'ratio':>9}",
        ]
        for path in NAVIGATED:
            s = navigation[f"assetry {path}"]
            label = path + ("" if path == "/login" else " (signed in)")
            lines.append(
                f"  {label:<44}{s['n']:>3}{s['median']:>9,.0f}{s['p95']:>9,.0f}"
                f"{base['median']:>9,.0f}{s['median'] / base['median']:>8.2f}×"
            )
    if bursts := r.get("bursts"):
        lines += [
            "\nTabs opening at once: first connection attempt → the last tab hydrated (baseline: blank app /)",
            f"  {'':<44}{'n':>3}{'ms':>9}{'failed':>8}{'base ms':>9}{'ratio':>9}",
        ]
        for clients in BURSTS:
            base = bursts[f"baseline / {clients}"]
            for path in ("/", "/studio"):
                s = bursts[f"assetry {path} {clients}"]
                label = f"{clients} tabs on {path}" + (" (signed in)" if path == "/studio" else "")
                lines.append(
                    f"  {label:<44}{s['ms']['n']:>3}{s['ms']['median']:>9,.0f}{s['failed']['median']:>8.0f}"
                    f"{base['ms']['median']:>9,.0f}{s['ms']['median'] / base['ms']['median']:>8.2f}×"
                )
    return lines


if __name__ == "__main__":
    print("\n".join(report(measure(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_RUNS))))
