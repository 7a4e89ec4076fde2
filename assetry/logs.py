"""The app's logs name nobody: addresses masked, ids pseudonymised, job arguments left out.

The privacy policy keeps logs at most 90 days, and a deleted account's data at most 30: so
no log line may identify a person in the first place. Every log record made in a process
of the app (ours, Reflex's, the job engine's, the server's) passes through `scrubbed` when
it is created, before any handler sees it:

- an email address becomes `[email]`;
- a UUID (any row id, a user's included, dashed or as 32 hex digits) becomes `~` and 12 hex
  digits of an HMAC of it under a key derived from SECRET_KEY (`pseudonym`): the lines about
  one user or generation still go together, `python -m assetry pseudonym ID` tells an operator
  what to search for, and once the purge has deleted the id nothing links it back;
- a procrastinate call string (`task[42](user_id=…, prompt=…)`) keeps its task and job id
  and loses its arguments (prompts, addresses, password hashes);
- an exception's traceback is formatted and scrubbed the same way.

The libraries that would log SQL parameters, result rows or request URLs with tokens
(SQLAlchemy, httpx) are held at WARNING, and engines hide SQL parameters in their errors
(`assetry.db`). Logs go to stderr only; the app keeps no log file of its own.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import re
import sys
import traceback
import uuid
from typing import Any

EMAIL = re.compile(r"[\w.+'-]+(?:@|%40)[\w-]+(?:\.[\w-]+)+", re.IGNORECASE)
UUID = re.compile(r"\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b", re.IGNORECASE)
# procrastinate writes `task_name[job id](key=value, ...)` before one of these words, or last.
CALL_STRING = re.compile(
    r"\b([\w.]+\[(?:\d+|None)\])\(.*?\)"
    r"(?=$| ended with status| \(started| cannot be enqueued| deferred for| skipped for)",
    re.DOTALL,
)
# Loggers that write data, not events, at INFO or DEBUG: SQL with its parameters and rows,
# request URLs (Instagram's carry the access token).
QUIET = ("sqlalchemy", "httpx", "httpcore", "aiosmtplib")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@functools.cache
def _key(secret: bytes) -> bytes:
    return hmac.digest(secret, b"assetry log pseudonyms", hashlib.sha256)


def pseudonym(value: uuid.UUID | str) -> str:
    """The stand-in for an id in the logs: the same id always gives the same one."""
    from assetry.config import get_settings, signing_secret

    canonical = str(uuid.UUID(str(value))) if UUID.fullmatch(str(value)) else str(value)
    digest = hmac.new(_key(signing_secret(get_settings())), canonical.encode(), hashlib.sha256)
    return "~" + digest.hexdigest()[:12]


def scrub(text: str) -> str:
    """The text with no address, no raw id and no job arguments left in it."""
    text = CALL_STRING.sub(r"\1(…)", text)
    text = EMAIL.sub("[email]", text)
    return UUID.sub(lambda found: pseudonym(found.group()), text)


def _scrubbed_record(make: Any, *args: Any, **kwargs: Any) -> logging.LogRecord:
    record = make(*args, **kwargs)
    try:
        message = record.getMessage()
    except Exception:  # a caller's bad format string: logging reports it when the record is emitted
        return record
    try:
        record.msg, record.args = scrub(message), ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = scrub("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
    except Exception:  # never let a log line break the caller; say nothing rather than too much
        record.msg, record.args, record.exc_text = "[a log line that could not be scrubbed]", (), None
    return record


def install() -> None:
    """Scrub every log record this process makes from now on (idempotent)."""
    make = logging.getLogRecordFactory()
    if getattr(make, "scrubs", False):
        return
    scrubbing = functools.partial(_scrubbed_record, make)
    scrubbing.scrubs = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(scrubbing)


def configure(level: int = logging.INFO) -> None:
    """The app's logging: scrubbed records, ours at `level` to stderr, noisy libraries at WARNING."""
    install()
    root = logging.getLogger()
    if not any(getattr(handler, "assetry", False) for handler in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.assetry = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    logging.getLogger("assetry").setLevel(level)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
