"""Dashboard queries for one creator over 90 days, in a database holding everyone's history.

1,000 creators × 1,000 posts × 10 metric snapshots = 10 million snapshots, bulk-loaded with
generate_series, on BENCH_POSTGRES_URL's server in a database of its own (`bench_dashboard`,
created here and dropped afterwards) and on the embedded server in a temporary DATA_DIR. Snapshots are stored in the order a sync writes them
(round after round across all creators), so one creator's rows are spread over the table.

Measured, for one creator:
- `services.dashboard.overview` as the dashboard calls it (queries + Python), median and p95,
  for each preset (7, 30 and 90 days); what follows is for the 90-day preset;
- each SQL statement that call issues, replayed alone in the same transaction setup
  (the RLS role and claims first), median and p95, rows returned, and the server's own
  execution time of each (EXPLAIN ANALYZE with TIMING OFF), without the client;
- EXPLAIN (ANALYZE, BUFFERS) of the main statement (the slowest one replayed);
- the dashboard page's events for that creator, run in-process as the backend runs them for
  one tab (no websocket): opening the page, switching between the 7/30/90-day presets,
  picking another metric.

Baseline for the ratios: the same creator's numbers in a database holding only that creator
(1 creator × 1,000 × 10), so the ratio is what the other 999 creators' rows cost.

`--keep` leaves the server's database in place and reuses it on the next run (to compare
code or index changes without reloading; drop them with `dropdb bench_dashboard` and
`dropdb bench_dashboard_baseline`). The baseline lives in `bench_dashboard_baseline`.
`--database NAME` names the Postgres database instead (e.g. one load per branch, each kept).
`--scale F` multiplies the number of creators (e.g. 0.1: 100 creators); the creator measured always has 1,000 posts × 10 snapshots.

Run alone: `python -m bench.dashboard [--scale 1] [--runs 30] [--backends postgres embedded]`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import re
import time
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from bench.harness import log, migrated_database, summary, temp_dir

POSTS_PER_CREATOR = 1000
SNAPSHOTS_PER_POST = 10
CREATORS = {"postgres": 1000, "embedded": 1000}
BACKENDS = ("postgres", "embedded")  # BENCH_POSTGRES_URL's server; the wheel's, in a temporary DATA_DIR
POSTGRES_DB = "bench_dashboard"
DEFAULT_RUNS = 30
HISTORY_DAYS = 365  # posts are spread over the last year
ACCOUNT_SNAPSHOT_DAYS = 120
NOTES_PER_CREATOR = 20
TARGET_MS = 50.0


def _now() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


# ----- loading -----------------------------------------------------------------------------------


def _pg_load(owner_url: str, creators: int, now: datetime) -> float:
    """Bulk-load everything with generate_series; returns seconds. Indexes are rebuilt afterwards."""
    from assetry import stored_figures
    from assetry.config import driver_url

    engine = sa.create_engine(driver_url(owner_url), poolclass=sa.pool.NullPool)
    started = time.perf_counter()
    ts = now.isoformat()
    with engine.begin() as conn:
        run = conn.exec_driver_sql
        run("SET session_replication_role = replica")  # no FK triggers during the load
        run("SET maintenance_work_mem = '512MB'")
        run("SET synchronous_commit = off")
        saved = {}
        for table in ("posts", "metric_snapshots"):
            saved[table] = run(
                "SELECT indexname, indexdef FROM pg_indexes i WHERE tablename = %(t)s AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
                {"t": table},
            ).all()
            for name, _ in saved[table]:
                run(f'DROP INDEX "{name}"')
        run("ALTER TABLE metric_snapshots DROP CONSTRAINT metric_snapshots_pkey")
        run(
            f"""INSERT INTO users (id, email, display_name, auth_backend, is_admin, is_disabled, in_eu,
                   time_zone, age_confirmed_at, created_at)
            SELECT md5('u' || u)::uuid, 'creator' || u || '@bench.example', 'Creator ' || u, 'local',
                   false, false, false, 'UTC', '{ts}', '{ts}'
            FROM generate_series(1, {creators}) u"""
        )
        run(
            f"""INSERT INTO connected_accounts (id, user_id, platform, platform_account_id, display_name,
                   username, avatar_url, account_type, sandbox, status, status_message, scope, followers,
                   posts_count, first_sync_done, last_synced_at, created_at)
            SELECT md5('a' || u)::uuid, md5('u' || u)::uuid, 'tiktok', 'open-' || u, 'Creator ' || u,
                   'creator' || u, '', '', true, 'active', '', 'user.info.basic,video.list', 10000 + u,
                   {POSTS_PER_CREATOR}, true, '{ts}', '{ts}'
            FROM generate_series(1, {creators}) u"""
        )
        run(
            f"""INSERT INTO account_snapshots (id, user_id, account_id, captured_at, followers, posts)
            SELECT md5('s' || u || ':' || d)::uuid, md5('u' || u)::uuid, md5('a' || u)::uuid,
                   '{ts}'::timestamptz - d * interval '1 day', 10000 + u * 10 - d, {POSTS_PER_CREATOR}
            FROM generate_series(0, {ACCOUNT_SNAPSHOT_DAYS - 1}) d, generate_series(1, {creators}) u"""
        )
        # Post p of every creator: published p * (365 days / 1000) before now, give or take.
        run(
            f"""INSERT INTO posts (id, user_id, account_id, source, platform, platform_post_id, title, url,
                   cover_url, media_type, duration_s, author, posted_at, last_metrics_at, created_at)
            SELECT md5('p' || u || ':' || p)::uuid, md5('u' || u)::uuid, md5('a' || u)::uuid, 'own',
                   'tiktok', (7000000000000000000 + u * 100000 + p)::text, 'Video ' || p || ' of ' || u,
                   'https://www.tiktok.com/@creator' || u || '/video/' || p, '', 'video', 30, '',
                   '{ts}'::timestamptz - (p * {HISTORY_DAYS * 86400 // POSTS_PER_CREATOR} + mod(u * 7919, 3600))
                       * interval '1 second',
                   '{ts}', '{ts}'
            FROM generate_series(1, {POSTS_PER_CREATOR}) p, generate_series(1, {creators}) u"""
        )
        # Snapshot k of a post: k tenths of the way from publication to now; counts grow with k,
        # so the highest earlier value (`<metric>_before`, kept by a trigger this load skips) is
        # snapshot k - 1's. Round after round, post after post across all creators, as syncs
        # append them: one creator's snapshots end up spread over the whole table (one series
        # keeps that order).
        run(
            f"""INSERT INTO metric_snapshots (id, user_id, post_id, captured_at, views, likes, comments,
                   shares, views_before, likes_before, comments_before, shares_before, missing)
            SELECT gen_random_uuid(), md5('u' || u)::uuid, md5('p' || u || ':' || p)::uuid,
                   '{ts}'::timestamptz - (p * {HISTORY_DAYS * 86400 // POSTS_PER_CREATOR}
                       + mod(u * 7919, 3600)) * (10 - k) / 10 * interval '1 second',
                   views * k, likes * k, comments * k, shares * k, nullif(views * (k - 1), 0),
                   nullif(likes * (k - 1), 0), nullif(comments * (k - 1), 0), nullif(shares * (k - 1), 0), '{{}}'
            FROM (SELECT i / {POSTS_PER_CREATOR * creators} + 1 AS k,
                         mod(i / {creators}, {POSTS_PER_CREATOR}) + 1 AS p, mod(i, {creators}) + 1 AS u
                  FROM generate_series(0, {SNAPSHOTS_PER_POST * POSTS_PER_CREATOR * creators - 1}) i) s,
                 LATERAL (SELECT 1000 + mod(u * 31 + p * 17, 9000) AS views, 50 + mod(u + p, 400) AS likes,
                                 5 + mod(p, 40) AS comments, 2 + mod(u, 20) AS shares) per_post"""
        )
        run(
            f"""INSERT INTO notes (id, user_id, day, body, created_at)
            SELECT md5('n' || u || ':' || n)::uuid, md5('u' || u)::uuid,
                   ('{ts}'::timestamptz - n * 4 * interval '1 day')::date, 'Note ' || n, '{ts}'
            FROM generate_series(1, {NOTES_PER_CREATOR}) n, generate_series(1, {creators}) u"""
        )
        run("ALTER TABLE metric_snapshots ADD PRIMARY KEY (id)")
        for table in saved:
            for _, definition in saved[table]:
                run(definition)
        for statement in stored_figures.FILL:  # what the skipped triggers would have kept
            run(statement)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    return time.perf_counter() - started


def _user_id(creator: int) -> uuid.UUID:
    """The id `_pg_load` gave creator number `creator` (md5 of "u<n>", computed in SQL)."""
    return uuid.UUID(hashlib.md5(f"u{creator}".encode()).hexdigest())


# ----- measuring ---------------------------------------------------------------------------------


def _label(statement: str) -> str:
    text = " ".join(statement.split())
    if text.upper().startswith("SET LOCAL ROLE"):
        return "SET LOCAL ROLE authenticated"
    if "set_config" in text:
        return "set_config(request.jwt.claims)"
    tables = re.findall(r"\bFROM (\w+)|\bJOIN (\w+)", text)
    names = [a or b for a, b in tables]
    return " ⋈ ".join(dict.fromkeys(names)) or text[:40]


async def _measure(creator: int, runs: int, page_events: bool) -> dict:
    from assetry import db
    from assetry.services import dashboard

    user_id = _user_id(creator)
    period = dashboard.period_for("90", today=_now().date(), zone="UTC")
    engine = db.engine()
    captured: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:
        captured.append((statement, parameters))

    sa.event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        result = await dashboard.overview(user_id, period)
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", capture)
    if result.posts_in_period == 0 or not result.has_data:
        raise RuntimeError(f"creator {creator} has no data in the period: the load went wrong")
    overview_ms = {}
    for preset in dashboard.PRESETS:  # 7, 30 and 90 days, as the dashboard's buttons ask
        chosen = dashboard.period_for(preset, today=period.end, zone="UTC")
        for _ in range(2):  # warm-up
            await dashboard.overview(user_id, chosen)
        overview_ms[preset] = []
        for _ in range(runs):
            started = time.perf_counter()
            await dashboard.overview(user_id, chosen)
            overview_ms[preset].append((time.perf_counter() - started) * 1000)

    statements: list[dict] = []
    for sql, params in captured:
        label = _label(sql)
        same = sum(1 for e in statements if e["label"].split(" #")[0] == label)
        label += f" #{same + 1}" if same else ""
        statements.append({"label": label, "sql": sql, "params": params, "ms": [], "rows": 0})
    for run in range(runs + 2):
        async with engine.connect() as conn, conn.begin():
            for entry in statements:
                started = time.perf_counter()
                reply = await conn.exec_driver_sql(entry["sql"], entry["params"])
                rows = reply.fetchall() if reply.returns_rows else []
                if run >= 2:
                    entry["ms"].append((time.perf_counter() - started) * 1000)
                entry["rows"] = len(rows)
    main = max(statements, key=lambda e: summary(e["ms"])["median"])
    # The server's own execution time of each query, without the client.
    for entry in statements:
        entry["server_ms"] = []
    for run in range(runs + 2):
        async with engine.connect() as conn, conn.begin():
            for entry in statements:
                if not entry["sql"].lstrip().upper().startswith(("SELECT", "WITH")):
                    await conn.exec_driver_sql(entry["sql"], entry["params"])
                    continue
                explain = "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + entry["sql"]
                found = (await conn.exec_driver_sql(explain, entry["params"])).scalar()
                found = json.loads(found) if isinstance(found, str) else found
                if run >= 2:
                    entry["server_ms"].append(found[0]["Execution Time"])
    async with engine.connect() as conn, conn.begin():
        for entry in statements:
            if entry is main:
                break
            await conn.exec_driver_sql(entry["sql"], entry["params"])
        reply = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + main["sql"], main["params"])
        plan = "\n".join(row[0] for row in reply.fetchall())
    page_ms = await _page_events(user_id, runs) if page_events else {}
    await db.dispose_engines()
    return {
        "overview_ms": {preset: summary(times) for preset, times in overview_ms.items()},
        "page_ms": {event: summary(times) for event, times in page_ms.items()},
        "rows_returned": sum(e["rows"] for e in statements),
        "posts_in_period": result.posts_in_period,
        "statements": [
            {
                "label": e["label"],
                "rows": e["rows"],
                "main": e is main,
                "sql": " ".join(e["sql"].split()),
                **{k: v for k, v in summary(e["ms"]).items() if k != "runs"},
                "server": summary(e["server_ms"]) if e.get("server_ms") else None,
            }
            for e in statements
        ],
        "sql_total_median_ms": sum(summary(e["ms"])["median"] for e in statements),
        "explain": plan,
    }


async def _page_events(user_id: uuid.UUID, runs: int) -> dict[str, list[float]]:
    """The dashboard page's own events, run in-process as the backend runs them for one tab
    (`tests.browserless.Tab`: Reflex's event processing and the state changes sent, without
    the websocket): opening the page, switching the range between presets, picking a metric."""
    import assetry.assetry  # noqa: F401  (registers the pages and their states)
    from assetry.pages.analytics.dashboard import DashboardState
    from tests.admin_people import session_token
    from tests.browserless import Tab

    times: dict[str, list[float]] = {"open the page (load)": [], "range 7/30/90 days": [], "metric": []}
    async with Tab(cookie=await session_token(user_id), path="/analytics") as tab:
        for run in range(runs + 2):
            events = [("open the page (load)", DashboardState.load, {})]
            events += [
                ("range 7/30/90 days", DashboardState.set_preset, {"preset": p}) for p in ("7", "90", "30")
            ]
            events += [("metric", DashboardState.set_metric, {"metric": m}) for m in ("likes", "views")]
            for name, handler, payload in events:
                started = time.perf_counter()
                await tab.call(handler, **payload)
                if run >= 2:
                    times[name].append((time.perf_counter() - started) * 1000)
    return times


def _loaded_creators(owner_url: str) -> int:
    from assetry.config import driver_url

    engine = sa.create_engine(driver_url(owner_url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SELECT count(*) FROM users").scalar()
    finally:
        engine.dispose()


def _one_database(
    backend: str, creators: int, runs: int, keep: bool = False, database: str = POSTGRES_DB
) -> dict:
    now = _now()
    keep = keep and backend == "postgres"
    name = database if creators > 1 else f"{database}_baseline"
    with (
        temp_dir(f"dashboard-{backend}") as data_dir,
        migrated_database(
            data_dir, postgres_name=None if backend == "embedded" else name, keep=keep
        ) as owner_url,
    ):
        snapshots = creators * POSTS_PER_CREATOR * SNAPSHOTS_PER_POST
        if keep and _loaded_creators(owner_url) == creators:
            log(f"dashboard, {backend}: reusing the loaded database {name} (--keep)")
            load_seconds = float("nan")
        else:
            log(f"dashboard, {backend}: loading {creators:,} creators, {snapshots:,} snapshots")
            load_seconds = _pg_load(owner_url, creators, now)
            log(f"dashboard, {backend}: loaded in {load_seconds:.0f} s; measuring")
        creator = max(1, creators // 2)
        # The page's events once per process (its states are registered once): not for the baseline.
        measured = asyncio.run(_measure(creator, runs, page_events=creators > 1))
    return {"creators": creators, "snapshots": snapshots, "load_seconds": load_seconds, **measured}


def measure(
    scale: float = 1.0,
    runs: int = DEFAULT_RUNS,
    backends: tuple[str, ...] = BACKENDS,
    baseline: bool = True,
    keep: bool = False,
    database: str = POSTGRES_DB,
) -> dict:
    results = {}
    for backend in backends:
        creators = max(1, math.ceil(CREATORS[backend] * scale))
        results[backend] = _one_database(backend, creators, runs, keep, database)
        if baseline:
            results[backend]["baseline"] = _one_database(backend, 1, runs, database=database)
    return results


def report(results: dict) -> list[str]:
    lines = []
    for backend, r in results.items():
        base = r.get("baseline")
        lines.append(
            f"\nDashboard, one creator, 90 days, {backend}: {r['snapshots']:,} snapshots "
            f"({r['creators']:,} creators × {POSTS_PER_CREATOR:,} posts × {SNAPSHOTS_PER_POST}), "
            f"loaded in {r['load_seconds']:.0f} s [ms]"
        )
        lines.append(
            f"  {'':<46}{'n':>3}{'median':>9}{'p95':>9}{'rows':>7}{'baseline':>10}{'ratio':>8}"
            f"{'server median':>15}{'p95':>8}"
        )
        base_rows = {s["label"]: s for s in base["statements"]} if base else {}

        def row(label: str, stats: dict, rows: str, base_stats: dict | None) -> str:
            line = f"  {label:<46}{stats['n']:>3}{stats['median']:>9.2f}{stats['p95']:>9.2f}{rows:>7}"
            if base_stats:
                line += f"{base_stats['median']:>10.2f}{stats['median'] / base_stats['median']:>7.2f}×"
            else:
                line += " " * 18
            if server := stats.get("server"):
                line += f"{server['median']:>15.2f}{server['p95']:>8.2f}"
            return line

        for preset, stats in r["overview_ms"].items():
            label = f"services.dashboard.overview, {preset} days"
            lines.append(row(label, stats, "", base and base["overview_ms"][preset]))
        for event, stats in r["page_ms"].items():
            label = f"page event: {event}"
            lines.append(row(label, stats, "", None))
        for s in r["statements"]:
            label = ("SQL " + s["label"] + (" (main)" if s["main"] else ""))[:46]
            lines.append(row(label, s, f"{s['rows']:,}", base_rows.get(s["label"])))
        main = next(s for s in r["statements"] if s["main"])
        verdict = (
            f"; main statement in the server: median {main['server']['median']:.1f} ms, "
            f"p95 {main['server']['p95']:.1f} ms (target: well under {TARGET_MS:.0f} ms)"
        )
        lines.append(
            f"  all statements of one overview, medians summed: {r['sql_total_median_ms']:.1f} ms{verdict}"
        )
        if base:
            lines.append("  baseline: the same creator in a database holding only that creator")
        lines.append(
            "  median/p95: the statement replayed through the app's driver, rows fetched; server: "
            "its Execution Time in EXPLAIN ANALYZE (TIMING OFF)"
        )
        if r["explain"]:
            lines.append("  EXPLAIN (ANALYZE, BUFFERS) of the main statement:")
            lines.extend("    " + line for line in r["explain"].splitlines())
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the creators to load")
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS)
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument(
        "--keep",
        action="store_true",
        help=f"Postgres: leave {POSTGRES_DB} in place afterwards and reuse it if it holds the same load",
    )
    parser.add_argument(
        "--database",
        default=POSTGRES_DB,
        help="Postgres: the database's name (the baseline's gets _baseline), to keep loads side by side",
    )
    args = parser.parse_args()
    results = measure(
        args.scale,
        args.runs,
        tuple(args.backends),
        baseline=not args.no_baseline,
        keep=args.keep,
        database=args.database,
    )
    print("\n".join(report(results)))


if __name__ == "__main__":
    main()
