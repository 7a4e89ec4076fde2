"""What the e2e tests do to the app's job worker from outside: hold the end of a generation back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from assetry.local_postgres import LocalPostgres


@contextmanager
def results_held_back(data_dir: Path) -> Iterator[None]:
    """While the block runs, no generation can record its results, as if every render were slow.

    The app's embedded database (in `data_dir`) has its `generation_outputs` table locked against
    writes: a job starts and runs, and waits at its end, however fast this machine renders. Reads
    go on, so pages load as usual.
    """
    with psycopg.connect(LocalPostgres(data_dir).url()) as connection, connection.transaction():
        connection.execute("LOCK TABLE generation_outputs IN SHARE ROW EXCLUSIVE MODE")
        yield
