"""The first job of a process: how long its event loop stalls while the provider SDK is imported.

Each run is a fresh Python process with anthropic, Gemini and fal configured (the SDKs are
not imported yet), running a 1 ms ticker on its event loop, whose longest late tick is the
stall. Two ways, alternating, each in its own process:
- in the job (the baseline, as before): `providers.for_generation` imports the SDK inside the loop;
- at worker start-up (as `jobs.engine.run_worker` now does): `providers.load_sdks` in a thread,
  then the same `for_generation` calls.
Nothing is sent to a provider: what is measured is the import, which is ours to place.

Run alone: `python -m bench.first_job [--runs 10]`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from bench.harness import REPO, log, summary

DEFAULT_RUNS = 10
PROVIDERS = ("anthropic", "gemini", "fal")

_PROCESS = """
import asyncio, json, sys, time

from assetry.services import providers


async def main(at_start_up: bool) -> dict:
    longest = 0.0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal longest
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            longest = max(longest, now - last - 0.001)
            last = now

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    began = time.perf_counter()
    if at_start_up:
        await asyncio.to_thread(providers.load_sdks)
    ready = time.perf_counter()
    for name in sys.argv[2:]:
        made = providers.for_generation(name)
        if hasattr(made, "aclose"):
            await made.aclose()
    done = time.perf_counter()
    await asyncio.sleep(0.01)
    stop.set()
    await ticking
    return {"stall": longest * 1000, "start_up": (ready - began) * 1000, "first_job": (done - ready) * 1000}


print(json.dumps(asyncio.run(main(sys.argv[1] == "start-up"))))
"""


def _one(way: str) -> dict:
    env = os.environ | {
        "ANTHROPIC_API_KEY": "sk-bench",
        "GEMINI_API_KEY": "bench",
        "FAL_KEY": "bench:key",
    }
    done = subprocess.run(
        [sys.executable, "-c", _PROCESS, way, *PROVIDERS],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(runs: int = DEFAULT_RUNS) -> dict:
    found: dict[str, dict[str, list[float]]] = {
        way: {"stall": [], "start_up": [], "first_job": []} for way in ("in-job", "start-up")
    }
    for run in range(runs):
        for way in ("in-job", "start-up") if run % 2 == 0 else ("start-up", "in-job"):
            for key, value in _one(way).items():
                found[way][key].append(value)
        log(f"first job, run {run + 1}/{runs}")
    return {
        way: {key: summary(values) for key, values in measured.items()} for way, measured in found.items()
    }


def report(results: dict) -> list[str]:
    lines = [
        "\nFirst job of a process: provider SDK import (anthropic, google-genai, fal_client) [ms]",
        f"  {'':<44}{'n':>3}{'median':>9}{'p95':>9}",
    ]
    for way, label in (
        ("in-job", "imported in the job (baseline)"),
        ("start-up", "imported at worker start-up"),
    ):
        for key, what in (("stall", "longest loop stall"), ("first_job", "first job's provider setup")):
            s = results[way][key]
            lines.append(f"  {label + ': ' + what:<44}{s['n']:>3}{s['median']:>9.1f}{s['p95']:>9.1f}")
    s = results["start-up"]["start_up"]
    lines.append(
        f"  {'worker start-up: the import, in a thread':<44}{s['n']:>3}{s['median']:>9.1f}{s['p95']:>9.1f}"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS)
    args = parser.parse_args()
    print("\n".join(report(measure(args.runs))))


if __name__ == "__main__":
    main()
