"""How long the offline provider takes: one 1:1 image, and one 5-second 9:16 video.

Usage: python -m bench.offline_render [--runs N]
Prints the median (and min / max) of N runs after one warm-up run that loads fonts and codecs.
`measure()` returns the same figures for `python -m bench`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

from assetry.integrations.offline import VIDEO_FPS, render_image, render_video, video_size

PROMPT = "A cinematic drone shot of a surfer at sunset, golden hour, warm colours, 4k"


def _timed(work: Callable[[int], object], runs: int) -> dict[str, float]:
    work(-1)  # warm-up: font files, codec initialisation
    seconds = []
    for run in range(runs):
        start = time.perf_counter()
        work(run)  # a new seed each run, so nothing is reused from the run before
        seconds.append(time.perf_counter() - start)
    return {"n": runs, "median": statistics.median(seconds), "min": min(seconds), "max": max(seconds)}


def measure(runs: int = 5) -> dict[str, dict[str, float]]:
    """Seconds to render one 1:1 PNG (1024×1024) and one 5-second 9:16 MP4."""
    return {
        "image_1x1_png": _timed(lambda seed: render_image(PROMPT, aspect_ratio="1:1", seed=seed), runs),
        "video_9x16_5s": _timed(
            lambda seed: render_video(PROMPT, aspect_ratio="9:16", duration_s=5, seed=seed), runs
        ),
    }


def report(results: dict[str, dict[str, float]]) -> list[str]:
    width, height = video_size("9:16")
    labels = {
        "image_1x1_png": "1:1 image, 1024×1024 PNG",
        "video_9x16_5s": f"9:16 video, 5 s, {width}×{height} H.264 @ {VIDEO_FPS} fps",
    }
    runs = next(iter(results.values()))["n"]
    lines = [
        f"\nOffline provider render times [s], {os.cpu_count()} CPUs, median of {runs} after 1 warm-up",
        f"  {'':<44}{'median':>9}{'min':>9}{'max':>9}",
    ]
    for key, stats in results.items():
        lines.append(f"  {labels[key]:<44}{stats['median']:>9.3f}{stats['min']:>9.3f}{stats['max']:>9.3f}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print("\n".join(report(measure(args.runs))))


if __name__ == "__main__":
    main()
