"""Run an ASGI app (a sandbox imitation) with uvicorn on a free 127.0.0.1 port, in a thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening_socket() -> socket.socket:
    """A socket bound to a free 127.0.0.1 port and kept, so no other process can take the port
    before the server listens on it; its port is known before the app is made."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Accepted sockets inherit this: without it, Nagle's algorithm and delayed ACKs stall every
    # small reply of uvicorn's h11 server by about 40 ms.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serve(
    app, *, sock: socket.socket | None = None, startup_timeout_s: float = 10.0, **options
) -> Iterator[str]:
    """Serve `app` for the duration of the block on `sock` (a new `listening_socket` unless given);
    yields its base URL. `options` go to uvicorn (`ssl_certfile` and `ssl_keyfile` make it https)."""
    sock = sock or listening_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1, **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"asgi-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the test server on port {port} did not start")
        time.sleep(0.01)
    scheme = "https" if "ssl_certfile" in options else "http"
    try:
        yield f"{scheme}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
