"""`make bench`: every benchmark under bench/; medians, p95 and ratios to a baseline.

Cold start, page load, the websocket hydrate, Lighthouse (mobile) and first install (baseline: a blank
Reflex app); the offline
provider's renders; the TikTok client paging 5,000 videos; the studio's job overhead; 100 idle
studio tabs for 60 s (statements they cause); the
library page with 1,000 generations; dashboard queries over 10 million snapshots; a full
first sync of 5,000 videos; recognising 1,000 new posts among 10,000 generations and What
works over 10,000 linked posts; the data export of 500 MB of media into object storage and to
local disk; 400 open tabs over two web backends sharing Redis against 200 on one. Each module
runs alone too: `python -m bench.<name> --help`.

The full results (every run) go to bench/results/<timestamp>.json.
Usage: python -m bench [--only SECTION ...] [--runs N] [--page-runs N] [--lighthouse-runs N] [--install-runs N]
       [--scale F] (the dashboard's number of creators, 1 = 1,000)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from datetime import UTC, datetime

from bench import (
    cold_start,
    dashboard,
    export,
    first_job,
    first_sync,
    hydrate,
    idle_tabs,
    install,
    job_overhead,
    library,
    lighthouse,
    offline_render,
    page_load,
    post_links,
    tabs,
    tiktok_sync_client,
)
from bench.harness import REPO, git_commit, log

SECTIONS = (
    "cold_start",
    "page_load",
    "hydrate",
    "lighthouse",
    "install",
    "offline_render",
    "tiktok_sync_client",
    "job_overhead",
    "first_job",
    "idle_tabs",
    "library",
    "dashboard",
    "first_sync",
    "post_links",
    "export",
    "tabs",
)
# Sections whose module prints its own lines of the table.
REPORTS = {
    "hydrate": hydrate.report,
    "lighthouse": lighthouse.report,
    "offline_render": offline_render.report,
    "tiktok_sync_client": tiktok_sync_client.report,
    "job_overhead": job_overhead.report,
    "first_job": first_job.report,
    "idle_tabs": idle_tabs.report,
    "library": library.report,
    "dashboard": dashboard.report,
    "first_sync": first_sync.report,
    "post_links": post_links.report,
    "export": export.report,
    "tabs": tabs.report,
}
LABEL_WIDTH = 50


def _row(label: str, stats: dict | None, baseline: dict | None = None, *, fmt: str) -> str:
    if not stats:
        return f"  {label:<{LABEL_WIDTH}}   (not measured)"
    median, p95 = stats["median"], stats["p95"]
    line = f"  {label:<{LABEL_WIDTH}}{stats['n']:>3}{median:>10{fmt}}{p95:>10{fmt}}"
    if baseline:
        base = baseline["median"]
        line += f"{base:>10{fmt}}{median / base:>8.2f}×"
    return line


def _header(title: str, unit: str) -> str:
    columns = f"{'n':>3}{'median':>10}{'p95':>10}{'baseline':>10}{'ratio':>9}"
    return f"\n{title} [{unit}]\n  {'':<{LABEL_WIDTH}}{columns}"


def print_report(results: dict) -> None:
    """The table of medians, p95 and ratios (ours / baseline medians) for whatever was measured."""
    lines = []
    if cold := results.get("cold_start"):
        ours, base = cold["assetry"], cold["baseline"]
        lines.append(_header("Cold start: make run until / answers 200 (installed checkout)", "s"))
        for key, label in (
            ("total", "total (baseline: blank app, reflex run)"),
            ("install_migrate", "  install check + migrate"),
            ("compile_build", "  Reflex compile + production build"),
            ("serve", "  serve: backend boot until / answers"),
        ):
            comparable = base.get(key) if key != "install_migrate" else None
            lines.append(_row(label, ours.get(key), comparable, fmt=".2f"))
        first, first_base = ours["warmup"]["total"], base["warmup"]["total"]
        label = "first run: new DATA_DIR (initdb, migrate), build"
        lines.append(
            f"  {label:<{LABEL_WIDTH}}{1:>3}{first:>10.2f}{'':>10}{first_base:>10.2f}{first / first_base:>8.2f}×"
        )
    if pages := results.get("page_load"):
        ours, base = pages["assetry"], pages["baseline"]["/"]
        lines.append(_header("Page load, headless Chromium, fresh context (baseline: blank app /)", "ms"))
        for path in ("/", "/home"):
            lines.append(_row(f"{path} first contentful paint", ours[path]["fcp"], base["fcp"], fmt=".0f"))
            lines.append(_row(f"{path} time to interactive", ours[path]["tti"], base["tti"], fmt=".0f"))
    if inst := results.get("install"):
        lines.append(_header("First install: git clone + make install (warm uv/npm caches)", "s"))
        for key, label in (
            ("total", "total"),
            ("clone", "  git clone"),
            ("make_install", "  make install"),
            ("uv_sync", "    uv sync --frozen"),
            ("npm_ci", "    npm ci (tools/)"),
        ):
            lines.append(_row(label, inst.get(key), fmt=".1f"))
    for section, report in REPORTS.items():
        if results.get(section):
            lines.extend(report(results[section]))
    for section, error in results.get("errors", {}).items():
        lines.append(f"\n{section} FAILED: {error.strip().splitlines()[-1]}")
    print("\n".join(lines), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--runs", type=int, default=cold_start.DEFAULT_RUNS, help="cold starts per app")
    parser.add_argument("--page-runs", type=int, default=page_load.DEFAULT_RUNS, help="loads per page")
    parser.add_argument(
        "--lighthouse-runs", type=int, default=lighthouse.DEFAULT_RUNS, help="Lighthouse runs per page"
    )
    parser.add_argument("--install-runs", type=int, default=install.DEFAULT_RUNS, help="fresh installs")
    parser.add_argument("--scale", type=float, default=1.0, help="dashboard: fraction of the creators")
    parser.add_argument("--jobs-runs", type=int, default=job_overhead.DEFAULT_RUNS, help="generations")
    parser.add_argument("--library-runs", type=int, default=library.DEFAULT_RUNS, help="library loads")
    parser.add_argument("--query-runs", type=int, default=dashboard.DEFAULT_RUNS, help="dashboard queries")
    parser.add_argument("--sync-runs", type=int, default=first_sync.DEFAULT_RUNS, help="first syncs")
    parser.add_argument("--export-runs", type=int, default=export.DEFAULT_RUNS, help="exports per storage")
    parser.add_argument(
        "--tabs-runs", type=int, default=tabs.DEFAULT_RUNS, help="loads of open tabs per topology"
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    results: dict = {
        "commit": git_commit(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "load_average_at_start": os.getloadavg(),
        },
        "errors": {},
    }
    runners = {
        "cold_start": lambda: cold_start.measure(args.runs),
        "page_load": lambda: page_load.measure(args.page_runs),
        "hydrate": lambda: hydrate.measure(args.page_runs),
        "lighthouse": lambda: lighthouse.measure(args.lighthouse_runs),
        "install": lambda: install.measure(args.install_runs),
        "offline_render": lambda: offline_render.measure(),
        "tiktok_sync_client": lambda: tiktok_sync_client.measure(),
        "job_overhead": lambda: job_overhead.measure(args.jobs_runs),
        "first_job": lambda: first_job.measure(),
        "idle_tabs": lambda: idle_tabs.measure(),
        "library": lambda: library.measure(args.library_runs),
        "dashboard": lambda: dashboard.measure(args.scale, args.query_runs),
        "first_sync": lambda: first_sync.measure(runs=args.sync_runs),
        "post_links": lambda: post_links.measure(),
        "export": lambda: export.measure(args.export_runs),
        "tabs": lambda: tabs.measure(args.tabs_runs),
    }
    for section in SECTIONS:
        if section not in args.only:
            continue
        log(f"{section} …")
        try:
            results[section] = runners[section]()
        except Exception:
            results["errors"][section] = traceback.format_exc()
            log(f"{section} failed:\n{results['errors'][section]}")
    results["duration_s"] = time.perf_counter() - started
    results["machine"]["load_average_at_end"] = os.getloadavg()

    print_report(results)
    out_dir = REPO / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    machine = results["machine"]
    print(
        f"\nbench took {results['duration_s']:.0f} s on {machine['cpus']} CPUs, 1-min load average "
        f"{machine['load_average_at_start'][0]:.1f} at start, {machine['load_average_at_end'][0]:.1f} at end "
        "(other work on the machine inflates every figure)."
    )
    print(f"Every run is in {out.relative_to(REPO)}")
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
