"""What the shared imitation servers hand to tests."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from assetry.sandbox.fal import FalImitation


@dataclass
class Served:
    imitation: FalImitation
    url: str
    trust: ssl.SSLContext
    ca_file: Path  # the test CA, for clients that read SSL_CERT_FILE
