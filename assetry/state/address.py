"""What a page's address says about what the page is for."""

from __future__ import annotations

import uuid


def id_in_path(path: str) -> uuid.UUID | None:
    """The id a page's address ends with (/library/<id>, /analytics/post/<id>), or None."""
    try:
        return uuid.UUID(path.rstrip("/").rsplit("/", 1)[-1])
    except ValueError:
        return None
