"""Operator commands run as an operator would: `python -m assetry COMMAND` in its own process, on the
test's database and storage (the fixtures set DATA_DIR, DATABASE_URL and MEDIA_S3_* in the environment)."""

from __future__ import annotations

import os
import subprocess
import sys

from assetry.config import ROOT


def counts_printed(*command: str) -> dict[str, int]:
    """Run the command; the counts it printed (`what  N` lines), by what."""
    done = subprocess.run(
        [sys.executable, "-m", "assetry", *command],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        # The command loads the whole app first: seconds of CPU, minutes on a machine shared with other runs.
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    counts = {}
    for line in done.stdout.splitlines():
        kind, _, number = line.rpartition("  ")
        counts[kind.strip()] = int(number)
    return counts
