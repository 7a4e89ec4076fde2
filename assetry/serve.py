"""`python -m assetry serve`: the app with its embedded database, for `make run` and `make dev`.

This process owns the embedded Postgres, not Reflex: migrations need the server before any
Reflex process exists, and Reflex runs the backend in worker processes that it restarts (hot
reload) or multiplies (several workers with Redis), while the database must outlive them all.
Reflex's lifespan is cancelled in no set order with the job worker that still writes, and a
killed worker stops nothing. So the CLI starts the server (`LocalPostgres.owned`), migrates,
and runs `reflex run` in a process group of its own; Ctrl-C and SIGTERM are passed on to that
group, and once it has exited (every worker with it) the server is stopped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

STOP_GRACE_S = 20


def reflex_environment(reflex_args: list[str], public_url: str) -> dict[str, str]:
    """This process's environment for `reflex run ARGS`.

    With --single-port the build's websocket address is PUBLIC_URL (REFLEX_API_URL, unless set),
    not the port this process listens on: behind a proxy over http (compose's localhost:8080 in
    front of two backends on :3000) Reflex's default, localhost:3000, is a port the browser
    cannot reach and the page's content security policy refuses.
    """
    env = dict(os.environ)
    if "--single-port" in reflex_args:
        env.setdefault("REFLEX_API_URL", public_url.rstrip("/"))
    return env


def run_app(reflex_args: list[str], public_url: str) -> int:
    """Run `reflex run ARGS` until it exits or this process is told to stop; leave none of it behind."""
    reflex = Path(sys.executable).with_name("reflex")
    app = subprocess.Popen(
        [str(reflex), "run", *reflex_args],
        env=reflex_environment(reflex_args, public_url),
        start_new_session=True,
    )
    told: list[int] = []

    def pass_on(signum: int, _frame: object) -> None:
        told.append(signum)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(app.pid, signum)

    signal.signal(signal.SIGINT, pass_on)
    signal.signal(signal.SIGTERM, pass_on)
    try:
        code = app.wait()
    finally:
        _end_group(app.pid)
    return 0 if told else code


def _end_group(group: int) -> None:
    """Stop what is left of the app's process group: SIGTERM, then SIGKILL after a grace period."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(group, signum)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + STOP_GRACE_S
        while time.monotonic() < deadline:
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
