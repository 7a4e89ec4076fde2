"""The certificates outgoing HTTPS trusts, loaded once per process.

An SDK client left to itself builds a fresh `ssl.SSLContext` each time it is made, and
loading the system's CA bundle into it takes 60–200 ms of CPU on a busy machine, blocking
the event loop (every tab of a web process running jobs inside it stalls meanwhile). A
generation makes one provider client, so that cost was most of the job overhead. The
integrations share this one context instead: it only verifies servers, holds no
connection, and is safe to share between clients, threads and event loops.
"""

from __future__ import annotations

import functools
import os
import ssl


def system_trust() -> ssl.SSLContext:
    """The operating system's CA certificates (SSL_CERT_FILE / SSL_CERT_DIR when set), as the SDKs use them:
    one context per setting of those two variables (a process that changes them trusts the new ones)."""
    return _trust(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _trust(_cert_file: str | None, _cert_dir: str | None) -> ssl.SSLContext:
    return ssl.create_default_context()  # reads the two variables itself
