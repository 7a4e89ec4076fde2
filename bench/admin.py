"""Admin overview and user search at scale: median service time per call.

Loads 100,000 users, 1,000,000 generations and 10,000,000 usage events (90 days, the
retention window) into a scratch database, then times the service calls the admin pages
make (what a page waits for before it renders). `--scale 0.1` loads a tenth of everything.

The tables are loaded at migration LOADED_AT (events only, as stored before the activity
rollups existed), with the big tables' secondary indexes dropped and built again afterwards,
which is much faster than keeping them up to date row by row; then the remaining migrations
run as they would in production (0008 fills the rollups from the events) and their time is
reported. The tables are loaded with `generate_series` in SQL. Results go to
bench/results/admin-<timestamp>.json.

Usage: python -m bench.admin [--scale 1.0] [--runs 7] [--keep]
BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/bench_admin, dropped and
created again unless --keep reuses it. With --keep, the migrations not yet applied run first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa

from bench.harness import REPO, git_commit

BASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bench_admin")
DEEP_ROW = "SELECT created_at, id FROM users ORDER BY created_at DESC, id DESC OFFSET 49949 LIMIT 1"
OFFSET_PAGE = (
    "SELECT id, email, display_name, created_at, is_admin, is_disabled, auth_backend FROM users"
    " ORDER BY created_at DESC, id DESC LIMIT 50 OFFSET :offset"
)
USERS, GENERATIONS, EVENTS, WAITLIST, JOBS, ACCOUNTS = 100_000, 1_000_000, 10_000_000, 20_000, 50_000, 10_000
LOADED_AT = "0007"  # the loader writes usage events only; 0008 rolls them up
# Tables big enough that building their indexes once beats updating them row by row.
REINDEXED = ("generations", "usage_events")


def _sync(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _counts(scale: float) -> dict[str, int]:
    return {k: max(1, int(v * scale)) for k, v in
            {"users": USERS, "generations": GENERATIONS, "events": EVENTS, "waitlist": WAITLIST,
             "jobs": JOBS, "accounts": ACCOUNTS}.items()}  # fmt: skip


def _recreate(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    server = sa.create_engine(_sync(url.rsplit("/", 1)[0] + "/postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    server.dispose()


def _load(url: str, scale: float) -> dict[str, float]:
    """Bulk-load the Postgres tables in SQL; returns seconds per table."""
    n = _counts(scale)
    steps = {
        "users": f"""
            INSERT INTO users (id, email, display_name, auth_backend, is_admin, is_disabled, in_eu, time_zone,
                               age_confirmed_at, created_at)
            SELECT gen_random_uuid(), 'user' || i || '@example' || (i % 50) || '.com', 'User ' || i, 'local',
                   i = 1, i % 500 = 0, i % 3 = 0, 'UTC', now(), now() - random() * interval '730 days'
            FROM generate_series(1, {n["users"]}) AS i""",
        "numbered": "CREATE UNLOGGED TABLE numbered_users AS SELECT row_number() OVER () AS n, id FROM users;"
        " CREATE UNIQUE INDEX ON numbered_users (n); ANALYZE numbered_users",
        "generations": f"""
            INSERT INTO generations (id, user_id, kind, prompt, options, provider, model, cost_usd, status, error,
                                     created_at)
            SELECT gen_random_uuid(), u.id, (ARRAY['video','image','caption'])[1 + i % 3], 'a prompt', '{{}}',
                   (ARRAY['offline','fal','gemini','anthropic'])[1 + i % 4], 'model',
                   (i % 7) * 0.05, (ARRAY['succeeded','succeeded','succeeded','failed','cancelled'])[1 + i % 5], '',
                   now() - random() * interval '365 days'
            FROM generate_series(1, {n["generations"]}) AS i
            JOIN numbered_users u ON u.n = 1 + (i::bigint * 7919) % {n["users"]}""",
        "usage_events": f"""
            INSERT INTO usage_events (id, user_id, kind, name, ip, browser, device, os, referrer, detail, created_at)
            SELECT gen_random_uuid(), CASE WHEN i % 5 = 0 THEN NULL ELSE u.id END, 'page_view', '/home',
                   '', 'Chrome 124', 'desktop', 'Linux', '', '', now() - random() * interval '90 days'
            FROM generate_series(1, {n["events"]}) AS i
            JOIN numbered_users u ON u.n = 1 + ((i::bigint * 104729) % {n["users"]}) % (1 + {n["users"]} / 3)""",
        "waitlist": f"""
            INSERT INTO waitlist_entries (id, email, created_at, invited_at)
            SELECT gen_random_uuid(), 'fan' || i || '@example.org', now() - random() * interval '365 days',
                   CASE WHEN i % 4 = 0 THEN now() END
            FROM generate_series(1, {n["waitlist"]}) AS i""",
        "jobs": f"""
            INSERT INTO procrastinate_jobs (queue_name, task_name, status, args, attempts)
            SELECT 'interactive', (ARRAY['studio.generate','analytics.sync_account','mail.deliver'])[1 + i % 3],
                   (ARRAY['succeeded','succeeded','failed','todo','doing'])[1 + i % 5]::procrastinate_job_status,
                   '{{}}', 1
            FROM generate_series(1, {n["jobs"]}) AS i""",
        "accounts": f"""
            INSERT INTO connected_accounts (id, user_id, platform, platform_account_id, display_name, username,
                   avatar_url, account_type, sandbox, status, status_message, scope, first_sync_done, created_at)
            SELECT gen_random_uuid(), u.id, 'tiktok', 'acct' || u.n, '', 'creator' || u.n, '', '', true,
                   CASE WHEN u.n % 20 = 0 THEN 'needs_reconnect' ELSE 'active' END, '', '', true, now()
            FROM numbered_users u WHERE u.n <= {n["accounts"]}""",
        "drop_numbered": "DROP TABLE numbered_users",
    }
    timings = {}
    engine = sa.create_engine(url)
    with engine.begin() as conn, _secondary_indexes_dropped(conn, timings):
        conn.execute(sa.text("SET LOCAL maintenance_work_mem = '1GB'"))
        for name, sql in steps.items():
            started = time.perf_counter()
            conn.execute(sa.text(sql))
            timings[name] = time.perf_counter() - started
            print(f"  loaded {name:<14} {timings[name]:7.1f} s", file=sys.stderr, flush=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    engine.dispose()
    return timings


KINDS, PROVIDERS = ("video", "image", "caption"), ("offline", "fal", "gemini", "anthropic")
STATUSES = ("succeeded", "succeeded", "succeeded", "failed", "cancelled")
JOB_KINDS, JOB_STATUSES = ("studio.generate", "sync.account", "sync.due"), ("succeeded", "succeeded", "failed", "queued", "running")  # fmt: skip


@contextmanager
def _secondary_indexes_dropped(conn, timings: dict[str, float]):
    """Drop the big tables' indexes other than their primary keys; build them again on the way out."""
    found = conn.execute(
        sa.text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN :tables"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        ).bindparams(sa.bindparam("tables", expanding=True)),
        {"tables": list(REINDEXED)},
    ).all()
    for name, _definition in found:
        conn.execute(sa.text(f'DROP INDEX "{name}"'))
    yield
    started = time.perf_counter()
    for _name, definition in found:
        conn.execute(sa.text(definition))
    timings["indexes"] = time.perf_counter() - started
    print(f"  built {len(found)} indexes {timings['indexes']:7.1f} s", file=sys.stderr, flush=True)


def _migrate(revision: str) -> float:
    """Run the migrations up to `revision`; returns seconds."""
    from alembic.config import Config

    from alembic import command
    from assetry.config import ROOT

    started = time.perf_counter()
    command.upgrade(Config(str(ROOT / "alembic.ini")), revision)
    return time.perf_counter() - started


async def _time(label: str, call, runs: int) -> tuple[str, list[float]]:
    await call()  # warm: connection pool, plan cache
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return label, samples


async def _measure(runs: int) -> list[tuple[str, list[float]]]:
    from sqlmodel import select

    from assetry import db
    from assetry.models import User
    from assetry.services.admin import overview, users
    from assetry.services.admin.paging import Cursor, Window

    async with db.service_session() as session:
        admin_id = (await session.exec(select(User.id).where(User.is_admin.is_(True)))).first()
        deep = (await session.exec(sa.text(DEEP_ROW))).one()  # where page 1,000 of the newest users starts
    calls = [
        ("overview, last 7 days", lambda: overview.overview(admin_id, 7)),
        ("overview, last 30 days", lambda: overview.overview(admin_id, 30)),
        ("overview, last 90 days", lambda: overview.overview(admin_id, 90)),
        ("users: newest, page 1", lambda: users.search(admin_id)),
        (
            "users: newest, page 1000 (keyset)",
            lambda: users.search(admin_id, window=Window(after=Cursor(*deep))),
        ),
        ("users: newest, page 1000 (OFFSET, for comparison)", lambda: _offset_page(1000)),
        ("users: email prefix 'user4242'", lambda: users.search(admin_id, "user4242")),
        ("users: email prefix 'user1' (11k+ hits)", lambda: users.search(admin_id, "user1")),
        ("users: anywhere '@example7.com'", lambda: users.search(admin_id, "@example7.com", anywhere=True)),
        ("users: detail of one user", lambda: _detail(admin_id)),
    ]
    results = [await _time(label, call, runs) for label, call in calls]
    await db.dispose_engines()
    return results


async def _offset_page(page: int):
    """The way the users list paged before keyset paging: read and skip every row before the page."""
    from assetry import db

    async with db.service_session() as session:
        return (await session.exec(sa.text(OFFSET_PAGE), params={"offset": (page - 1) * 50})).all()


async def _detail(admin_id):
    from assetry.services.admin import users

    found = await users.search(admin_id, "user77")
    return await users.detail(admin_id, found.rows[0].id)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="reuse an already loaded database")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = BASE_URL
    os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="bench-admin-"))
    from assetry.config import driver_url, get_settings

    get_settings.cache_clear()
    url = driver_url(get_settings().owner_database_url)
    results: dict = {
        "commit": git_commit(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if not args.keep:
        _recreate(BASE_URL)
        _migrate(LOADED_AT)
        print(f"Loading at scale {args.scale} …", file=sys.stderr)
        results["load_s"] = _load(url, args.scale)
    results["migrate_to_head_s"] = _migrate("head")
    print(f"  migrated to head  {results['migrate_to_head_s']:7.1f} s", file=sys.stderr, flush=True)
    calls = asyncio.run(_measure(args.runs))
    results["calls_ms"] = dict(calls)
    results["rows"] = _row_counts(url)
    scale = ", ".join(
        f"{results['rows'][table]:,} {table}" for table in ("users", "generations", "usage_events")
    )
    print(f"\nAdmin service calls ({scale}), {args.runs} runs each [ms]")
    print(f"  {'':<44}{'median':>10}{'max':>10}")
    for label, samples in calls:
        print(f"  {label:<44}{statistics.median(samples):>10.1f}{max(samples):>10.1f}")
    out = REPO / "bench" / "results" / f"admin-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"Every run is in {out.relative_to(REPO)}")
    return 0


def _row_counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        counts = {
            table: conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("users", "generations", "usage_events", "active_days")
        }
    engine.dispose()
    return counts


if __name__ == "__main__":
    raise SystemExit(main())
