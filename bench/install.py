"""First install: `git clone` of this repository into a temporary directory, then `make install`.

`make install` is `uv sync --frozen` (a new .venv) plus `npm ci` of tools/ (bun). The package
caches of this machine (~/.cache/uv, ~/.npm) are left as they are, normally warm: this is what a
developer who clones the repository again sees, not a first install on a machine that never
downloaded the packages. Only committed files are cloned.

Run alone: `python -m bench.install [RUNS]`.
"""

from __future__ import annotations

import subprocess
import sys
import time

from bench.harness import REPO, Server, log, reflex_env, summary, temp_dir

DEFAULT_RUNS = 1
INSTALL_TIMEOUT = 900.0
# make echoes `npm ci …` once `uv sync` is done.
NPM_STARTED = "npm ci --prefix tools"


def install_once() -> dict[str, float]:
    with temp_dir("clone") as parent:
        checkout = parent / "assetry"
        started = time.perf_counter()
        subprocess.run(
            ["git", "clone", "--quiet", str(REPO), str(checkout)],
            check=True,
            timeout=120,
            stdout=subprocess.DEVNULL,
        )
        cloned = time.perf_counter() - started
        env = reflex_env()
        # uv must build the clone's own .venv, not reuse an activated one.
        env.pop("VIRTUAL_ENV", None)
        make = Server(
            "make install",
            ["make", "--no-print-directory", "install"],
            cwd=checkout,
            env=env,
            markers=[NPM_STARTED],
        ).start()
        try:
            installed = make.wait_exit(INSTALL_TIMEOUT)
        finally:
            make.stop()
        uv_sync = make.marks.get(NPM_STARTED, installed)
        return {
            "clone": cloned,
            "make_install": installed,
            "uv_sync": uv_sync,
            "npm_ci": installed - uv_sync,
            "total": cloned + installed,
        }


def measure(runs: int = DEFAULT_RUNS) -> dict:
    measured = []
    for run in range(1, runs + 1):
        measured.append(install_once())
        log(f"first install: run {run}/{runs}: {measured[-1]['total']:.1f} s")
    return {phase: summary([m[phase] for m in measured]) for phase in measured[0]}


if __name__ == "__main__":
    from bench.__main__ import print_report

    print_report({"install": measure(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_RUNS)})
