"""Full first sync of a TikTok account with 5,000 videos, on the embedded Postgres and on a server.

The account lives in the in-process sandbox imitation (`platforms.sandbox("tiktok")`,
what sandbox mode uses), which answers instantly and has its rate limit off. Each run
signs up a new creator, connects the account through `services.connections` (consent,
code exchange, first sync queued), then times a `Worker` running that sync job to its
end: every page of the video list, posts upserted, one metric snapshot per post, the
profile and its account snapshot. Rows per second counts the rows the sync wrote
(posts + metric snapshots + account snapshots).

Baseline: the TikTok client alone paging the same account in-process (no database;
what `bench/tiktok_sync_client.py` measures), so the ratio is what storing costs on top.

Run alone: `python -m bench.first_sync [--videos 5000] [--runs 3] [--backends embedded postgres]
[--profile FILE]` (`--profile` writes a cProfile of the first measured run per backend).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import secrets
import statistics
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import sqlalchemy as sa
from sqlmodel import select

from bench.harness import log, migrated_database, summary, temp_dir
from tests.account_setup import SignUp, create_account

HANDLE = "bench.first.sync"
DEFAULT_VIDEOS = 5000
DEFAULT_RUNS = 3
BACKENDS = ("embedded", "postgres")  # the wheel's server in the DATA_DIR; BENCH_POSTGRES_URL's
POSTGRES_DB = "bench_first_sync"


def _imitation(videos: int):
    from assetry.services import platforms

    imitation = platforms.sandbox("tiktok")
    imitation.rate_limit_per_minute = None
    imitation.faults.clear()
    if HANDLE not in imitation.creators:
        imitation.add_creator(HANDLE, "Bench first sync (sandbox)", videos=videos)
    return imitation


async def _connect(imitation) -> tuple[uuid.UUID, uuid.UUID]:
    """A new creator connects the account (consent: Allow); returns (user id, account id)."""
    from assetry.services import accounts, connections

    form = SignUp(
        email=f"sync-{secrets.token_hex(5)}@example.com",
        password=secrets.token_urlsafe(18),
        age_confirmed=True,
        accepted_policies=True,
    )
    user, session_token = await create_account(form, accounts.Client(ip="127.0.0.1", user_agent="bench"))
    authorize = await connections.begin(user.id, session_token, "tiktok")
    query = dict(parse_qsl(urlsplit(authorize).query))
    decision = {**query, "requested": query["scope"], "account": HANDLE, "decision": "allow"}
    decision["scope"] = "video.list"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=imitation.app), base_url="http://sandbox"
    ) as browser:
        reply = await browser.post("/v2/auth/authorize/", data=decision)
    callback = dict(parse_qsl(urlsplit(reply.headers["location"]).query))
    connected = await connections.complete("tiktok", callback, session_token)
    return user.id, connected.account_id


async def _count(model, *where) -> int:
    from assetry import db

    async with db.service_session() as session:
        return await session.scalar(select(sa.func.count()).select_from(model).where(*where))


async def _one_sync(imitation, profiler: cProfile.Profile | None = None) -> dict:
    from assetry.jobs import engine
    from assetry.models import AccountSnapshot, MetricSnapshot, Post, SyncRun

    user_id, account_id = await _connect(imitation)
    app = engine.build_app()
    app.periodic_registry.periodic_tasks.clear()
    if profiler:
        profiler.enable()
    started = time.perf_counter()
    async with app.open_async():  # run the queued sync (and what it queues) until none is left
        await app.run_worker_async(wait=False, install_signal_handlers=False, listen_notify=False)
    seconds = time.perf_counter() - started
    if profiler:
        profiler.disable()
    from assetry import db

    async with db.service_session() as session:
        run = (await session.exec(select(SyncRun).where(SyncRun.user_id == user_id))).one()
    if run.status != "succeeded":
        raise RuntimeError(f"the sync ended {run.status}: {run.error}")
    posts = await _count(Post, Post.account_id == account_id)
    snapshots = await _count(MetricSnapshot, MetricSnapshot.user_id == user_id)
    profiles = await _count(AccountSnapshot, AccountSnapshot.user_id == user_id)
    return {"seconds": seconds, "posts": posts, "snapshots": snapshots, "account_snapshots": profiles}


async def _client_only(imitation, runs: int) -> list[float]:
    """The baseline: the TikTok client paging the account in-process, nothing stored."""
    from assetry.services import connections, platforms

    _, account_id = await _connect(imitation)
    token = await connections.access_token(account_id)
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        cursor, pages = None, 0
        adapter = platforms.adapter("tiktok")
        while True:  # page by page, a fresh client per page, as the sync does
            page = await adapter.page(token, "", cursor)
            pages += 1
            if not page.has_more or not page.cursor:
                break
            cursor = page.cursor
        seconds.append(time.perf_counter() - started)
    return seconds


async def _backend_runs(videos: int, runs: int, profile_to: Path | None) -> dict:
    from assetry import db

    imitation = _imitation(videos)
    try:
        await _one_sync(imitation)  # warm-up: imports, caches, the first connection
        measured = []
        for run in range(1, runs + 1):
            profiler = cProfile.Profile() if profile_to and run == 1 else None
            measured.append(await _one_sync(imitation, profiler))
            if profiler:
                profiler.dump_stats(profile_to)
            m = measured[-1]
            log(f"first sync run {run}/{runs}: {m['seconds']:.2f} s, {m['posts']} posts")
        baseline = await _client_only(imitation, runs)
    finally:
        await db.dispose_engines()
    rows = [m["posts"] + m["snapshots"] + m["account_snapshots"] for m in measured]
    return {
        "videos": videos,
        "listed": len(await imitation.public_videos(HANDLE)),
        "posts": measured[0]["posts"],
        "snapshots": measured[0]["snapshots"],
        "rows": rows[0],
        "seconds": summary([m["seconds"] for m in measured]),
        "rows_per_second": summary([r / m["seconds"] for r, m in zip(rows, measured, strict=True)]),
        "baseline_client_only": summary(baseline),
    }


def measure(
    videos: int = DEFAULT_VIDEOS,
    runs: int = DEFAULT_RUNS,
    backends: tuple[str, ...] = BACKENDS,
    profile_to: Path | None = None,
) -> dict:
    results = {}
    for backend in backends:
        log(f"first sync on {backend}: {videos} videos, {runs} runs after a warm-up")
        with (
            temp_dir(f"first-sync-{backend}") as data_dir,
            migrated_database(data_dir, postgres_name=None if backend == "embedded" else POSTGRES_DB),
        ):
            profile = profile_to.with_suffix(f".{backend}.prof") if profile_to else None
            results[backend] = asyncio.run(_backend_runs(videos, runs, profile))
    return results


def report(results: dict) -> list[str]:
    """Lines of the results table."""
    if not results:
        return []
    any_backend = next(iter(results.values()))
    lines = [
        f"\nFirst sync of a TikTok account ({any_backend['videos']:,} videos, "
        f"{any_backend['listed']:,} listed) through a Worker, imitation in-process and instant",
        f"  {'':<22}{'n':>3}{'median s':>10}{'p95 s':>8}{'rows':>8}{'rows/s':>9}"
        f"{'baseline s':>12}{'ratio':>8}",
    ]
    for backend, r in results.items():
        seconds, base = r["seconds"], r["baseline_client_only"]
        lines.append(
            f"  {backend:<22}{seconds['n']:>3}{seconds['median']:>10.2f}{seconds['p95']:>8.2f}"
            f"{r['rows']:>8,}{statistics.median(r['rows_per_second']['runs']):>9,.0f}"
            f"{base['median']:>12.2f}{seconds['median'] / base['median']:>7.1f}×"
        )
    lines.append(
        "  rows = posts + metric snapshots + account snapshots; baseline = the TikTok client "
        "alone paging the same account (nothing stored)"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=DEFAULT_VIDEOS)
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS)
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--profile", type=Path, help="cProfile the first measured run: FILE.<backend>.prof")
    args = parser.parse_args()
    print("\n".join(report(measure(args.videos, args.runs, tuple(args.backends), args.profile))))


if __name__ == "__main__":
    main()
