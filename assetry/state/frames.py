"""A size limit on what a browser sends over the websocket, refused with a message, not a dropped socket.

Engine.IO closes the whole connection when a frame exceeds its buffer (1 MB), and the page
goes offline without a word. In front of it, `limit_event_frames` measures every incoming
frame on the event socket the way Engine.IO does; one over `EVENT_MAX_BYTES` is dropped
before Engine.IO sees it and the browser is told why, on the same connection, which stays usable.
"""

from __future__ import annotations

import logging

import reflex as rx
from reflex.state import StateUpdate
from reflex_base.config import get_config
from reflex_base.constants import SocketEvent
from reflex_base.event import Event
from reflex_base.utils.format import json_dumps
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assetry.config import get_settings

log = logging.getLogger(__name__)


def too_large_message(limit: int) -> str:
    return (
        f"That is too much to send at once (the limit is {limit // 1024} kB). Make it shorter and try again."
    )


def _refusal_frame(namespace: str, limit: int) -> str:
    """An Engine.IO message holding a Socket.IO event for `namespace`: the state update showing the refusal."""
    update = StateUpdate(
        events=Event.from_event_type(rx.toast.error(too_large_message(limit), id="too-large"))
    )
    return f"42{namespace},{json_dumps([str(SocketEvent.EVENT), update])}"


def _size(message: Message) -> int:
    """A frame's size as Engine.IO counts it: characters of a text frame, bytes of a binary one."""
    return len(message.get("text") or "") + len(message.get("bytes") or b"")


def limit_event_frames(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: refuse oversized frames on the event websocket with a message."""
    namespace = get_config().get_event_namespace()
    limit = get_settings().event_max_bytes
    refusal = _refusal_frame(namespace, limit)

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or not scope["path"].startswith(namespace):
            await app(scope, receive, send)
            return

        async def receive_within_limit() -> Message:
            while True:
                message = await receive()
                if message["type"] != "websocket.receive" or (size := _size(message)) <= limit:
                    return message
                log.info("refused a websocket frame of %d characters (limit %d)", size, limit)
                await send({"type": "websocket.send", "text": refusal})

        await app(scope, receive_within_limit, send)

    return wrapped
