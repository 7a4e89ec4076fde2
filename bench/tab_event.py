"""What one cheap event of a tab costs a backend sharing UI state through Redis.

One backend of the tabs bench (`bench.tabs`: multi-instance mode, Redis database 8) with one
web worker, so every tab lands on the process measured; 40 tabs hydrate /signup and toggle the
sign-up form's checkbox once a second for 20 s. Counted over the whole load, hydrates included:
the Redis commands the backend sends (Redis's MONITOR, this database only) and the CPU time of
the backend's processes, each per event. Twice in the same run: Reflex's state manager as it
comes (a lock, a read and a write in Redis around every event) and with a backend leasing a
busy tab's state in its memory (REFLEX_OPLOCK_ENABLED, as rxconfig.py sets it for Redis).

Run alone: `python -m bench.tab_event`.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import redis

from bench.harness import log, percentile
from bench.tabs import REDIS_URL, _event_name, drive, start_backends

TABS = 40
EVENTS_S = 20.0
MODES = {"without a lease": "false", "with a lease": "true"}


def _cpu_seconds(leader: int) -> float:
    """User + system CPU time so far of every process in the group `leader` leads (from /proc)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[2]) == leader:  # its process group
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _commands(stop: threading.Event, counted: Counter) -> None:
    """Count the commands Redis runs on our database until `stop` (MONITOR sees them all)."""
    database = int(REDIS_URL.rsplit("/", 1)[1])
    with redis.Redis.from_url(REDIS_URL).monitor() as monitor:
        for command in monitor.listen():
            if stop.is_set():
                return
            if command.get("db") == database:
                counted[command["command"].split(" ", 1)[0].upper()] += 1


def measure_mode(oplock: str) -> dict:
    event = _event_name()
    with ExitStack() as stack:
        [server], [base], origin = start_backends(stack, 1, GRANIAN_WORKERS="1", REFLEX_OPLOCK_ENABLED=oplock)
        counted: Counter = Counter()
        stop = threading.Event()
        watcher = threading.Thread(target=_commands, args=(stop, counted), daemon=True)
        watcher.start()
        cpu = _cpu_seconds(server.process.pid)
        out = drive(base, origin, event, TABS, 2.0, EVENTS_S)
        cpu = _cpu_seconds(server.process.pid) - cpu
        stop.set()
        redis.Redis.from_url(REDIS_URL).ping()  # one more command, so the watcher sees `stop`
        watcher.join(timeout=10)
    events = max(len(out["ms"]), 1)
    return {
        "events": len(out["ms"]),
        "errors": len(out["errors"]),
        "redis_per_event": sum(counted.values()) / events,
        "commands": dict(counted.most_common()),
        "cpu_ms_per_event": cpu * 1000 / events,
        "p50_ms": percentile(out["ms"], 0.5) if out["ms"] else None,
        "p95_ms": percentile(out["ms"], 0.95) if out["ms"] else None,
        "load_average": os.getloadavg()[0],
    }


def measure() -> dict:
    results = {}
    for label, oplock in MODES.items():
        log(f"tab_event: {TABS} tabs, {label} …")
        results[label] = measure_mode(oplock)
        log(f"tab_event: {results[label]}")
    return results


def report(r: dict) -> list[str]:
    lines = [f"\nOne cheap event, {TABS} tabs on one backend worker (UI state in Redis), hydrates included"]
    lines.append(f"  {'':<18}{'events':>8}{'errors':>8}{'Redis/event':>13}{'CPU ms/event':>14}"
                 f"{'p50':>7}{'p95':>7}{'load':>7}")  # fmt: skip
    for label, found in r.items():
        lines.append(
            f"  {label:<18}{found['events']:>8}{found['errors']:>8}{found['redis_per_event']:>13.1f}"
            f"{found['cpu_ms_per_event']:>14.2f}{found['p50_ms']:>7.1f}{found['p95_ms']:>7.1f}"
            f"{found['load_average']:>7.1f}"
        )
    return lines


if __name__ == "__main__":
    print("\n".join(report(measure())))
