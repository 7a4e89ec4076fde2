"""Cold start: `make run` on an installed checkout until / answers 200, and a blank Reflex app likewise.

Runs of the two alternate. One warm-up run of each is discarded (it builds `.web` and, for
us, migrates a new database); the measured runs are what a developer sees on every later
`make run`: install check, migrate (already up to date), Reflex compile and production build,
backend boot.

The warm-up run is printed too, as the first run: on a checkout without `.web` (a fresh clone
after `make install`) it is what a new developer waits for on their first `make run`.

Run alone: `python -m bench.cold_start [RUNS]`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bench.harness import (
    BUILT,
    MIGRATED,
    Server,
    baseline_app,
    free_port,
    log,
    make_blank_app,
    our_app,
    summary,
    temp_dir,
)

DEFAULT_RUNS = 5


def _one_start(make_server: Callable[[int], Server]) -> dict[str, float]:
    """Start on a free port, wait for 200 on /, stop; returns the phases in seconds."""
    port = free_port()
    with make_server(port) as server:
        total = server.wait_http(f"http://127.0.0.1:{port}/")
        marks = dict(server.marks)
    built = marks.get(BUILT)
    if built is None:
        raise RuntimeError(f"{server.name}: no {BUILT!r} line in its output:\n{server.tail()}")
    phases = {"total": total, "compile_build": built, "serve": total - built}
    if MIGRATED in marks:
        phases["install_migrate"] = marks[MIGRATED]
        phases["compile_build"] = built - marks[MIGRATED]
    return phases


def measure(runs: int = DEFAULT_RUNS) -> dict:
    """`make run` of this checkout (a temporary DATA_DIR shared by its runs) and the blank Reflex app.

    Their runs alternate, so load from other work on the machine weighs on both alike.
    """
    with temp_dir("data") as data_dir, temp_dir("blank") as parent:
        app_dir = make_blank_app(parent)
        subjects: dict[str, Callable[[int], Server]] = {
            "assetry": lambda port: our_app(port, data_dir),
            "baseline": lambda port: baseline_app(app_dir, port),
        }
        warmups = {}
        for name, make_server in subjects.items():
            log(f"cold start, {name}: warm-up run (discarded)")
            warmups[name] = _one_start(make_server)
        measured: dict[str, list[dict[str, float]]] = {name: [] for name in subjects}
        for run in range(1, runs + 1):
            for name, make_server in subjects.items():
                measured[name].append(_one_start(make_server))
                log(f"cold start, {name}: run {run}/{runs}: {measured[name][-1]['total']:.2f} s")
    return {
        name: {
            "warmup": warmups[name],
            **{phase: summary([m[phase] for m in series]) for phase in series[0]},
        }
        for name, series in measured.items()
    }


if __name__ == "__main__":
    from bench.__main__ import print_report

    print_report({"cold_start": measure(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_RUNS)})
