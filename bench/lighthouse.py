"""Lighthouse, mobile: performance and accessibility of the landing page, /login, /studio, /library
and /analytics, against the production build with real data; baseline: a blank Reflex app's /.

The data: one creator with 1,000 image generations (seeded as bench/library.py seeds them)
who connects the sandbox's TikTok creator Jon Okafor through the real OAuth flow in Chromium
and waits for the first sync to end (months of posts and metric snapshots), so /analytics
draws its 30-day dashboard from synced numbers. Signed-in pages get the session cookie
through `--extra-headers`; the landing page and /login are visited signed out.

Lighthouse (tools/node_modules, pinned in tools/package.json) runs its default mobile setup
(a Moto G Power, simulated 4× slower CPU and slow 4G) on Debian's Chromium, named by
CHROME_PATH: it downloads no browser. Each page is run RUNS times (default 3, one page after
the other in turn); the medians of the scores and of FCP, LCP, TBT, CLS and speed index are
reported, with the audits that lose the most on each page in the median run.

The machine's other work slows every figure (Lighthouse's CPU "benchmarkIndex" is recorded):
compare pages with the baseline of the same run, not with runs on another day.

Run alone: `python -m bench.lighthouse [--runs 3] [--no-baseline] [--pages studio,library] [--save DIR]`
(--pages: only those pages, by label); with --save,
each run's full Lighthouse JSON is kept as DIR/PAGE-RUN.json (for its audits: the LCP element,
boot-up time, unused JavaScript, each request).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import tempfile
from pathlib import Path

from bench.harness import (
    CHROMIUM,
    REPO,
    baseline_app,
    chromium_browser,
    free_port,
    log,
    make_blank_app,
    migrated_database,
    production_app,
    summary,
    temp_dir,
)

DEFAULT_RUNS = 3
GENERATIONS = 1000
LIGHTHOUSE = REPO / "tools" / "node_modules" / ".bin" / "lighthouse"
# (label, path, signed in)
PAGES = (
    ("landing", "/", False),
    ("login", "/login", False),
    ("studio", "/studio", True),
    ("library", "/library", True),
    ("analytics", "/analytics", True),
)
METRICS = {
    "first-contentful-paint": "FCP ms",
    "largest-contentful-paint": "LCP ms",
    "total-blocking-time": "TBT ms",
    "cumulative-layout-shift": "CLS",
    "speed-index": "SI ms",
}
RUN_TIMEOUT_S = 300
SYNC_TIMEOUT_MS = 180_000


def _connect_sandbox(url: str, cookie: dict) -> None:
    """Connect the sandbox's TikTok creator from /analytics and wait until its first sync has ended."""
    from playwright.sync_api import expect

    with chromium_browser() as browser:
        context = browser.new_context()
        context.add_cookies([cookie])
        page = context.new_page()
        page.goto(f"{url}/analytics")
        page.get_by_role("button", name="Connect TikTok").click()
        page.get_by_role("radio", name="Jon Okafor").check()
        page.locator("#allow").click()
        expect(page.locator(".total-card").first).not_to_contain_text("—", timeout=SYNC_TIMEOUT_MS)
        syncing = page.locator(".connected-account").get_by_text("Syncing")
        expect(syncing).to_have_count(0, timeout=SYNC_TIMEOUT_MS)
        context.close()


def run_lighthouse(url: str, cookie: str = "", attempts: int = 3) -> dict:
    """One Lighthouse run (mobile, performance and accessibility); its JSON report.

    A run Lighthouse itself gives up on (on a busy machine its trace sometimes misses the
    navigation: NO_NAVSTART) is run again, up to `attempts` times."""
    command = [
        str(LIGHTHOUSE),
        url,
        "--quiet",
        "--only-categories=performance,accessibility",
        "--output=json",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
    ]
    if cookie:
        command.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
    env = {**os.environ, "CHROME_PATH": CHROMIUM}
    for attempt in range(1, attempts + 1):
        with tempfile.TemporaryDirectory(prefix="assetry-bench-lighthouse-") as folder:
            out = Path(folder) / "report.json"
            done = subprocess.run(
                [*command, f"--output-path={out}"],
                env=env,
                capture_output=True,
                text=True,
                timeout=RUN_TIMEOUT_S,
                check=False,
            )
            if done.returncode == 0 and out.exists():
                return json.loads(out.read_text(encoding="utf-8"))
        problem = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        log(f"lighthouse {url}: attempt {attempt}/{attempts} failed: {problem[0]}")
    raise RuntimeError(f"lighthouse {url} failed {attempts} times:\n{done.stderr[-2000:]}")


def _losses(report: dict, top: int = 4) -> list[str]:
    """The scored audits that cost the most in one report, heaviest first, in Lighthouse's words."""
    weights = {ref["id"]: ref["weight"] for ref in report["categories"]["performance"]["auditRefs"]}
    lost = []
    for audit_id, audit in report["audits"].items():
        score, mode = audit.get("score"), audit.get("scoreDisplayMode")
        if score is None or score >= 0.9 or mode in ("notApplicable", "informative", "manual"):
            continue
        lost.append(
            (weights.get(audit_id, 0) * (1 - score), 1 - score, audit_id, audit.get("displayValue", ""))
        )
    lost.sort(reverse=True)
    return [f"{audit_id} {shown}".strip() for *_, audit_id, shown in lost[:top]]


def _digest(report: dict) -> dict:
    audits = report["audits"]
    failing_a11y = [
        ref["id"]
        for ref in report["categories"]["accessibility"]["auditRefs"]
        if ref["weight"] and audits[ref["id"]].get("score") == 0
    ]
    return {
        "performance": round(report["categories"]["performance"]["score"] * 100),
        "accessibility": round(report["categories"]["accessibility"]["score"] * 100),
        **{key: audits[key]["numericValue"] for key in METRICS},
        "final_url": report["finalDisplayedUrl"],
        "benchmark_index": report["environment"]["benchmarkIndex"],
        "losses": _losses(report),
        "failing_accessibility": failing_a11y,
    }


def _measure_pages(targets: dict[str, tuple[str, str]], runs: int, save: Path | None) -> dict:
    digests: dict[str, list[dict]] = {label: [] for label in targets}
    for run in range(runs):
        for label, (url, cookie) in targets.items():
            found = run_lighthouse(url, cookie)
            if save:
                (save / f"{label}-{run + 1}.json").write_text(json.dumps(found), encoding="utf-8")
            digest = _digest(found)
            digests[label].append(digest)
            log(
                f"lighthouse {label} run {run + 1}/{runs}: performance {digest['performance']}, "
                f"accessibility {digest['accessibility']}, TBT {digest['total-blocking-time']:.0f} ms, "
                f"CLS {digest['cumulative-layout-shift']:.3f} ({digest['final_url']})"
            )
    results = {}
    for label, found in digests.items():
        middle = sorted(found, key=lambda d: d["performance"])[len(found) // 2]
        results[label] = {
            **{key: summary([d[key] for d in found]) for key in ("performance", "accessibility", *METRICS)},
            "final_url": middle["final_url"],
            "losses": middle["losses"],
            "failing_accessibility": sorted({a for d in found for a in d["failing_accessibility"]}),
            "benchmark_index": statistics.median(d["benchmark_index"] for d in found),
        }
    return results


def measure(
    runs: int = DEFAULT_RUNS, baseline: bool = True, save: Path | None = None, pages: set[str] | None = None
) -> dict:
    from assetry.state.session import SESSION_COOKIE
    from bench.library import _seed

    with temp_dir("lighthouse") as work:
        data_dir = work / "data"
        with migrated_database(data_dir, postgres_name=None):
            log(f"lighthouse: seeding a creator with {GENERATIONS:,} generations")
            token, _empty = asyncio.run(_seed(GENERATIONS))
        port, base_port = free_port(), free_port()
        url, base_url = f"http://localhost:{port}", f"http://localhost:{base_port}"
        log(
            "lighthouse: building and starting the production app"
            + (" and the blank app" if baseline else "")
        )
        with production_app(work, data_dir, port) as server:
            server.wait_http(f"{url}/health")
            server.wait_http(f"{url}/")
            log("lighthouse: connecting the sandbox's TikTok creator and waiting for the first sync")
            _connect_sandbox(url, {"name": SESSION_COOKIE, "value": token, "url": url})
            signed_in = f"{SESSION_COOKIE}={token}"
            targets = {
                label: (url + path, signed_in if auth else "")
                for label, path, auth in PAGES
                if pages is None or label in pages
            }
            if not baseline:
                return _measure_pages(targets, runs, save)
            with baseline_app(make_blank_app(work), base_port) as base_server:
                base_server.wait_http(f"{base_url}/")
                return _measure_pages({**targets, "baseline": (base_url + "/", "")}, runs, save)


def report(r: dict) -> list[str]:
    columns = "".join(f"{name:>9}" for name in ("perf", "a11y", *(v.split()[0] for v in METRICS.values())))
    lines = [
        "\nLighthouse 12, mobile (simulated Moto G Power, slow 4G), production build, medians "
        f"(baseline: a blank Reflex app's /; CPU benchmark index {r[next(iter(r))]['benchmark_index']:.0f})",
        f"  {'':<12}{'n':>3}{columns}",
    ]
    for label, s in r.items():
        line = f"  {label:<12}{s['performance']['n']:>3}{s['performance']['median']:>9.0f}"
        line += f"{s['accessibility']['median']:>9.0f}"
        for key in METRICS:
            value = s[key]["median"]
            line += f"{value:>9.3f}" if key == "cumulative-layout-shift" else f"{value:>9.0f}"
        lines.append(line)
    for label, s in r.items():
        if s["losses"]:
            lines.append(f"  {label}, biggest losses: " + "; ".join(s["losses"]))
        if s["failing_accessibility"]:
            lines.append(f"  {label}, accessibility audits failed: " + ", ".join(s["failing_accessibility"]))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--save", type=Path, help="a folder to keep each run's Lighthouse JSON in")
    labels = [label for label, _, _ in PAGES]
    parser.add_argument("--pages", help="only these pages, comma-separated: " + ",".join(labels))
    args = parser.parse_args()
    pages = set(args.pages.split(",")) if args.pages else None
    if pages and not pages <= set(labels):
        parser.error(f"unknown page(s): {', '.join(sorted(pages - set(labels)))}")
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
    print("\n".join(report(measure(args.runs, not args.no_baseline, args.save, pages))))


if __name__ == "__main__":
    main()
