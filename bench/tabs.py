"""Open tabs under load: 400 over two web backends sharing Redis, against 200 on one backend.

Each backend is `reflex run --env prod --backend-only` of a copy of this checkout in
multi-instance mode (DEPLOYMENT=multi: a Postgres database of its own through an app login
role, Redis database 8, moto's S3 server, keys from settings); tabs need no frontend build.
A tab is a websocket client speaking Reflex's protocol (as tests/raw_socket.py does): a new
client token, hydrate of /signup as a visitor, then one cheap event a second for 60 s (the
sign-up form's "I live in the European Union" checkbox, toggled: the tab's state read from
and written back to Redis, one delta sent back). Tabs start evenly over 20 s. Every 200 tabs
are driven by a client process of their own, so the load generator is the same in both cases.

Two machines on one: each backend and the client process that drives its tabs run pinned to a
core of their own (`taskset`, `sched_setaffinity`), backend A and its tabs on the first core
in both cases, backend B and its tabs on the second. Per backend, the two cases then have the
same hardware and the same load; what they share is what production shares, Redis (and
Postgres, which this event does not touch). Unpinned (`--shared-cores`), the 400-tab case
puts twice the work on the same two cores as the 200-tab case, and measures the machine.

Measured, over every event of every tab: milliseconds from sending the event to the update
that shows its new value (p50, p95, p99, max), and errors (a connection refused or dropped, a
hydrate or an event unanswered within 10 s). Target: 0 errors, two backends' p95 at most 1.5×
one backend's. Everything runs on loopback; every wait is bounded.

Run alone: `python -m bench.tabs [RUNS] [--shared-cores]`.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import multiprocessing
import os
import re
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack

import psycopg
import redis
import websockets

from bench.harness import (
    VENV_BIN,
    Server,
    _copy_source,
    free_port,
    log,
    migrated_database,
    percentile,
    reflex_env,
    summary,
    temp_dir,
)

DEFAULT_RUNS = 3
TABS = 400
TABS_PER_CLIENT = 200
RAMP_S = 20.0
EVENTS_S = 60.0
TIMEOUT_S = 10.0
PAGE = "/signup"
POSTGRES_DB = "bench_tabs"
REDIS_URL = "redis://127.0.0.1:6379/8"
APP_ROLE, APP_PASSWORD = "assetry_bench_tabs", "a-password-of-the-tabs-bench"
HYDRATE_EVENT = "reflex___state____state.hydrate_and_load"
HYDRATED = re.compile(r'"is_hydrated_rx_state_"\s*:\s*true')
SHOWN = re.compile(r'"in_eu_rx_state_"\s*:\s*(true|false)')


class _Unanswered(Exception):
    """The server said nothing about what the tab waits for within TIMEOUT_S."""


async def _until(socket, condition) -> str:
    """Frames until one meets `condition` (Engine.IO pings answered on the way); bounded."""
    deadline = asyncio.get_running_loop().time() + TIMEOUT_S
    while True:
        left = deadline - asyncio.get_running_loop().time()
        try:
            frame = await asyncio.wait_for(socket.recv(), max(left, 0.001))
        except TimeoutError:
            raise _Unanswered from None
        frame = frame if isinstance(frame, str) else frame.decode()
        if frame == "2":
            await socket.send("3")
            continue
        if condition(frame):
            return frame


def _shows(value: str, frame: str) -> bool:
    """Whether the frame is the update that puts `value` in the checkbox."""
    found = SHOWN.search(frame)
    return found is not None and found.group(1) == value


def _pinned(core: int | None) -> None:
    """This process on `core` only (None: anywhere)."""
    if core is not None:
        os.sched_setaffinity(0, {core})


async def _tab(base: str, origin: str, event: str, start_at: float, events_s: float, out: dict) -> None:
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, start_at - loop.time()))
    url = base.replace("http", "ws", 1) + f"/_event/?token={uuid.uuid4()}&EIO=4&transport=websocket"
    router = {"pathname": PAGE, "asPath": PAGE}
    try:
        async with websockets.connect(
            url, additional_headers={"Origin": origin}, max_size=None, open_timeout=TIMEOUT_S
        ) as socket:
            await asyncio.wait_for(socket.recv(), TIMEOUT_S)  # Engine.IO open
            hydrate = {"name": HYDRATE_EVENT, "payload": {}, "router_data": router}
            await socket.send("40/_event," + json.dumps({"event": hydrate}))
            await _until(socket, HYDRATED.search)
            value, next_at = False, loop.time()
            end_at = next_at + events_s
            while next_at < end_at:
                await asyncio.sleep(max(0.0, next_at - loop.time()))
                value = not value
                shown = "true" if value else "false"
                packet = ["event", {"name": event, "payload": {"value": value}, "router_data": router}]
                sent = time.perf_counter()
                await socket.send("42/_event," + json.dumps(packet))
                await _until(socket, functools.partial(_shows, shown))
                out["ms"].append((time.perf_counter() - sent) * 1000)
                next_at += 1.0
    except _Unanswered:
        out["errors"].append("unanswered")
    except (OSError, TimeoutError, websockets.WebSocketException) as error:
        out["errors"].append(type(error).__name__)


def drive(
    base: str, origin: str, event: str, tabs: int, ramp_s: float, events_s: float, core: int | None = None
) -> dict:
    """One client process (on `core` if given): `tabs` tabs on `base`, started evenly over
    `ramp_s`, each sending an event a second for `events_s` once hydrated. Returns every
    latency (ms) and every error."""
    _pinned(core)

    async def run() -> dict:
        out: dict = {"ms": [], "errors": []}
        now = asyncio.get_running_loop().time()
        starts = [now + ramp_s * n / tabs for n in range(tabs)]
        await asyncio.gather(*(_tab(base, origin, event, s, events_s, out) for s in starts))
        return out

    return asyncio.run(run())


def _load(backends: list[str], origin: str, event: str, tabs: int, cores: list[int | None]) -> dict:
    """`tabs` tabs split evenly over `backends`, TABS_PER_CLIENT per client process, each client
    on the core of the backend it drives."""
    clients = [n % len(backends) for n in range(tabs // TABS_PER_CLIENT)]
    started = time.perf_counter()
    with ProcessPoolExecutor(len(clients), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [
            pool.submit(drive, backends[b], origin, event, TABS_PER_CLIENT, RAMP_S, EVENTS_S, cores[b])
            for b in clients
        ]
        parts = [future.result(timeout=RAMP_S + EVENTS_S + 6 * TIMEOUT_S + 60) for future in futures]
    ms = [value for part in parts for value in part["ms"]]
    errors = [error for part in parts for error in part["errors"]]
    return {
        "tabs": tabs,
        "backends": len(backends),
        "events": len(ms),
        "errors": len(errors),
        "error_kinds": sorted(set(errors)),
        "p50_ms": percentile(ms, 0.50) if ms else None,
        "p95_ms": percentile(ms, 0.95) if ms else None,
        "p99_ms": percentile(ms, 0.99) if ms else None,
        "max_ms": max(ms) if ms else None,
        "wall_s": time.perf_counter() - started,
        "pinned": cores[0] is not None,
        "load_average": os.getloadavg(),
    }


def _key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def _event_name() -> str:
    from reflex_base.utils.format import format_event_handler

    from assetry.pages.auth import SignUpState

    return format_event_handler(SignUpState.set_in_eu)


def cores_for(count: int, pinned: bool) -> list[int | None]:
    """The core each of `count` backends (and its tabs) runs on: one each when pinned."""
    usable = sorted(os.sched_getaffinity(0))
    if not pinned:
        return [None] * count
    if len(usable) < count:
        raise SystemExit(
            f"pinning {count} backends needs {count} cores; this machine lets us use {len(usable)}"
        )
    return usable[:count]


def start_backends(
    stack: ExitStack, count: int, cores: list[int | None] | None = None, **extra_env: str
) -> tuple[list[Server], list[str], str]:
    """`count` backends sharing Redis database 8 (emptied on the way out), each a process group
    of its own (backend n on `cores[n]` and the processes it starts, if given); returns them,
    their base URLs and the public origin every tab sends."""
    from moto.server import ThreadedMotoServer

    from assetry import rls
    from assetry.config import Settings

    work = stack.enter_context(temp_dir("tabs"))
    owner_url = stack.enter_context(migrated_database(work / "data", postgres_name=POSTGRES_DB))
    with psycopg.connect(owner_url, autocommit=True) as owner:
        owner.execute(rls.app_role(APP_ROLE, APP_PASSWORD))
    moto_port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    moto.start()
    stack.callback(moto.stop)
    shared_redis = redis.Redis.from_url(REDIS_URL)
    shared_redis.flushdb()
    stack.callback(shared_redis.flushdb)
    source = work / "app"
    _copy_source(source)
    ports = [free_port() for _ in range(count)]
    origin = f"http://127.0.0.1:{ports[0]}"  # the public address (a proxy in production)
    ours = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in reflex_env().items() if k.upper() not in ours}
    env.update(
        DEPLOYMENT="multi", DATABASE_URL=owner_url, APP_DB_ROLE=APP_ROLE, APP_DB_PASSWORD=APP_PASSWORD,
        REDIS_URL=REDIS_URL, ENCRYPTION_KEYS=f"k1:{_key()}", SECRET_KEY=_key(), JOB_WORKER_IN_APP="false",
        MEDIA_S3_ENDPOINT=f"http://127.0.0.1:{moto_port}", MEDIA_S3_BUCKET="bench-tabs",
        MEDIA_S3_ACCESS_KEY="bench-key", MEDIA_S3_SECRET_KEY="bench-secret", MEDIA_S3_REGION="us-east-1",
        PUBLIC_URL=origin, DATA_DIR=str(work / "data"), PYTHONDONTWRITEBYTECODE="1", **extra_env,
    )  # fmt: skip
    servers, bases = [], []
    for port, core in zip(ports, cores or [None] * count, strict=True):
        command = [] if core is None else ["taskset", "--cpu-list", str(core)]
        command += [str(VENV_BIN / "reflex"), "run", "--env", "prod", "--backend-only"]
        command += ["--backend-port", str(port), "--backend-host", "127.0.0.1", "--loglevel", "warning"]
        servers.append(stack.enter_context(Server(f"backend :{port}", command, cwd=source, env=env)))
        bases.append(f"http://127.0.0.1:{port}")
    for server, base in zip(servers, bases, strict=True):
        server.wait_http(f"{base}/health/live")
    return servers, bases, origin


def measure(runs: int = DEFAULT_RUNS, pinned: bool = True) -> dict:
    results: dict = {"one": [], "two": []}
    event = _event_name()
    cores = cores_for(2, pinned)
    with ExitStack() as stack:
        # Reflex sizes its web workers by the host's CPUs (2 × CPUs + 1); a backend pinned to one
        # core gets what Reflex would give a machine of one core.
        workers = {} if not pinned else {"GRANIAN_WORKERS": "3"}
        _, bases, origin = start_backends(stack, 2, cores, **workers)
        shared_redis = redis.Redis.from_url(REDIS_URL)
        for run in range(runs):
            for label, used, tabs in (("one", bases[:1], TABS // 2), ("two", bases, TABS)):
                shared_redis.flushdb()
                log(f"tabs: run {run + 1}/{runs}, {tabs} tabs on {len(used)} backend(s) …")
                measured = _load(used, origin, event, tabs, cores)
                log(f"tabs: {measured}")
                results[label].append(measured)
    return results


def report(r: dict) -> list[str]:
    title = f"Open tabs: an event a second for {EVENTS_S:.0f} s each, started over {RAMP_S:.0f} s"
    pinned = any(run.get("pinned") for runs in r.values() for run in runs)
    where = "each backend and its tabs on a core of their own" if pinned else "all on shared cores"
    columns = (
        ("runs", 5),
        ("events", 8),
        ("errors", 8),
        ("p50", 8),
        ("p95", 8),
        ("p99", 8),
        ("max", 8),
        ("load", 7),
    )
    header = "".join(f"{name:>{width}}" for name, width in columns)
    lines = [f"\n{title} (UI state in Redis; {where}) [ms, median of runs]", f"  {'':<34}{header}"]
    medians = {}
    for label, title in (
        ("one", f"{TABS // 2} tabs on one backend"),
        ("two", f"{TABS} tabs over two backends"),
    ):
        runs = r.get(label) or []
        if not runs:
            continue
        med = {key: summary([run[key] for run in runs])["median"] for key in ("events", "errors", "p50_ms",
               "p95_ms", "p99_ms", "max_ms")}  # fmt: skip
        load = summary([run["load_average"][0] for run in runs])["median"]
        medians[label] = med
        lines.append(
            f"  {title:<34}{len(runs):>5}{med['events']:>8.0f}{med['errors']:>8.0f}{med['p50_ms']:>8.0f}"
            f"{med['p95_ms']:>8.0f}{med['p99_ms']:>8.0f}{med['max_ms']:>8.0f}{load:>7.1f}"
        )
    if "one" in medians and "two" in medians:
        ratio = medians["two"]["p95_ms"] / medians["one"]["p95_ms"]
        lines.append(f"  p95 two backends / one backend: {ratio:.2f}× (target ≤ 1.5×, 0 errors)")
    return lines


if __name__ == "__main__":
    numbers = [arg for arg in sys.argv[1:] if arg.isdigit()]
    measured = measure(int(numbers[0]) if numbers else DEFAULT_RUNS, pinned="--shared-cores" not in sys.argv)
    print("\n".join(report(measured)))
