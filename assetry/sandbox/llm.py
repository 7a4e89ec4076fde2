"""What the Gemini and Anthropic imitations share: faults, a request log, model-ish text.

Each imitation keeps one `Faults` and one `RequestLog` on `app.state`. Tests running
the app in the same process change `app.state.faults` directly; anything else
(sandbox mode, a browser test) uses the admin routes from `admin_routes()`:
`GET|PUT|DELETE /_sandbox/faults` and `GET|DELETE /_sandbox/requests`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ReplyStyle = Literal["auto", "json", "numbered", "fenced", "chatty", "short"]


@dataclass
class Faults:
    """What the imitation does wrong, until cleared."""

    status: int | None = None  # answer with this HTTP status (429, 500, 503, 529 …)
    times: int | None = None  # … this many times, then answer normally (None: every time)
    retry_after: float | None = None  # seconds, sent as `retry-after` with the failing status
    delay_s: float = 0.0  # wait this long before answering (slow replies, client timeouts)
    malformed: bool = False  # 200 with a body that is not the documented shape
    refuse: bool = False  # the model declines for safety reasons
    empty: bool = False  # the model answers with nothing at all (no candidates / no content)
    reply_style: ReplyStyle = "auto"  # how list replies are written (see the imitations)

    def take_status(self) -> int | None:
        """The status to fail this request with, counting down `times`."""
        if self.status is None:
            return None
        status = self.status
        if self.times is not None:
            self.times -= 1
            if self.times <= 0:
                self.status = self.times = None
        return status

    def clear(self) -> None:
        for spec in dataclasses.fields(self):
            setattr(self, spec.name, spec.default)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the imitation received it (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float  # event-loop time, for checking retry waits


@dataclass
class RequestLog:
    """Every request the imitation received, oldest first."""

    entries: list[RecordedRequest] = field(default_factory=list)

    async def record(self, request: Request) -> RecordedRequest:
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        entry = RecordedRequest(
            method=request.method,
            path=request.url.path,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            at=asyncio.get_running_loop().time(),
        )
        self.entries.append(entry)
        return entry


async def slow_down(faults: Faults) -> None:
    if faults.delay_s > 0:
        await asyncio.sleep(faults.delay_s)


def admin_routes() -> list[Route]:
    """Routes to read and switch faults and read the request log over HTTP."""

    async def faults(request: Request) -> Response:
        current: Faults = request.app.state.faults
        if request.method == "PUT":
            changes = await request.json()
            known = {spec.name for spec in dataclasses.fields(Faults)}
            unknown = sorted(set(changes) - known)
            if unknown:
                return JSONResponse({"error": f"unknown fault fields: {', '.join(unknown)}"}, 400)
            for name, value in changes.items():
                setattr(current, name, value)
        elif request.method == "DELETE":
            current.clear()
        return JSONResponse(dataclasses.asdict(current))

    async def requests(request: Request) -> Response:
        log: RequestLog = request.app.state.requests
        if request.method == "DELETE":
            log.entries.clear()
        return JSONResponse(
            [{"method": e.method, "path": e.path, "body": e.body} for e in log.entries],
        )

    return [
        Route("/_sandbox/faults", faults, methods=["GET", "PUT", "DELETE"]),
        Route("/_sandbox/requests", requests, methods=["GET", "DELETE"]),
    ]


_OPENERS = (
    "POV:",
    "Nobody talks about this:",
    "Save this for later:",
    "Day 1 of trying",
    "Quick one:",
    "Real talk:",
    "You asked, so here it is:",
)


def requested_count(instructions: str) -> int:
    """How many items the prompt asks for ("exactly N"), 1 when it does not say."""
    match = re.search(r"exactly (\d+)", instructions)
    return max(1, min(int(match.group(1)), 50)) if match else 1


def requested_json_key(instructions: str) -> str | None:
    """The list key of a JSON shape shown in the prompt, like `{"captions": [`."""
    match = re.search(r'\{\s*"(\w+)"\s*:\s*\[', instructions)
    return match.group(1) if match else None


def draft_items(topic: str, count: int, *, avoid: str = "") -> list[str]:
    """`count` different, deterministic lines about `topic`, none of them found in `avoid`.

    Same topic, same lines; lines the prompt already shows ("do not repeat these") are skipped,
    as a model asked for more would.
    """
    topic = " ".join(topic.split())[:80] or "your next video"
    words = re.findall(r"[A-Za-z]{3,}", topic)
    tag = "#" + (words[0].lower() if words else "creator")
    digest = hashlib.sha256(topic.encode()).digest()
    items: list[str] = []
    take = 0
    while len(items) < count:
        opener = _OPENERS[(digest[take % len(digest)] + take) % len(_OPENERS)]
        take += 1
        item = f"{opener} {topic} (take {take}) {tag} #fyp"
        if f"{opener} {topic} (take {take})" not in avoid:
            items.append(item)
    return items


def write_list(items: list[str], style: ReplyStyle, json_key: str | None) -> str:
    """Write items the way a model might: JSON, numbered, fenced JSON or chatty."""
    as_json = json.dumps({json_key or "items": items}, ensure_ascii=False)
    numbered = "\n".join(f"{number}. {item}" for number, item in enumerate(items, 1))
    if style == "auto":
        style = "json" if json_key else "numbered"
    if style == "short":  # a list of several comes back one short
        return write_list(items[:-1] if len(items) > 1 else items, "auto", json_key)
    return {
        "json": as_json,
        "numbered": numbered,
        "fenced": f"```json\n{as_json}\n```",
        "chatty": f"Sure! Here are some ideas:\n\n{numbered}\n\nWant me to make them punchier?",
    }[style]
