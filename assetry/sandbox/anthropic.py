"""A local imitation of Anthropic's Messages API, as the anthropic SDK speaks to it.

`POST /v1/messages` with the key in `X-Api-Key` (older SDKs) or
`Authorization: Bearer` (SDK 2.x), and the `anthropic-version` header. Only Claude
models in the provider catalog (`assetry.services.catalog`) that are not past their
retirement date exist: any other id answers 404 `not_found_error` (`model: <id>`),
as the API does for a retired model; `max_tokens` above the entry's output limit answers
400 `invalid_request_error` in the API's words. The reply
is deterministic text derived from the prompt: a list of the size the prompt
asks for ("exactly N"), as JSON when the prompt shows a JSON shape like
`{"captions": [...]}`, else as a numbered list; it is cut at `max_tokens`
(about four characters a token) with `stop_reason: max_tokens`.

Errors use Anthropic's shape `{"type": "error", "error": {"type", "message"}, "request_id"}`.
Faults (see `assetry.sandbox.llm.Faults`): `status` (429 `rate_limit_error` with
`retry-after`, 500 `api_error`, 529 `overloaded_error`, …), `delay_s`,
`malformed` (a truncated JSON body), `refuse` (`stop_reason: refusal`, no content),
`empty` (no content blocks), `reply_style`.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from assetry.sandbox.llm import (
    Faults,
    RequestLog,
    admin_routes,
    draft_items,
    requested_count,
    requested_json_key,
    slow_down,
    write_list,
)
from assetry.services import catalog

SANDBOX_KEY = "sandbox-anthropic-key"

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_FAULT_MESSAGES = {
    429: "Number of request tokens has exceeded your per-minute rate limit; see the response headers "
    "for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later.",
    500: "Internal server error",
    529: "Overloaded",
}


def anthropic_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error in Anthropic's JSON shape, with a `request-id` header like the real API."""
    request_id = f"req_{uuid.uuid4().hex[:24]}"
    return JSONResponse(
        {
            "type": "error",
            "error": {"type": _ERROR_TYPES.get(status, "api_error"), "message": message},
            "request_id": request_id,
        },
        status_code=status,
        headers={"request-id": request_id, **(headers or {})},
    )


def _text(content: Any) -> str:
    """The text of a `content` or `system` field: a string or a list of text blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"
        )
    return ""


def create_app(api_key: str = SANDBOX_KEY) -> Starlette:
    """The imitation; `app.state.faults` switches faults, `app.state.requests` logs requests."""

    async def messages(request: Request) -> Response:
        faults: Faults = request.app.state.faults
        await request.app.state.requests.record(request)
        await slow_down(faults)
        if (status := faults.take_status()) is not None:
            headers = {"retry-after": f"{faults.retry_after:g}"} if faults.retry_after is not None else None
            return anthropic_error(status, _FAULT_MESSAGES.get(status, "Service unavailable"), headers)

        bearer = request.headers.get("authorization", "")
        given_key = request.headers.get("x-api-key") or (
            bearer[7:] if bearer.lower().startswith("bearer ") else ""
        )
        if not given_key:
            return anthropic_error(401, "x-api-key header is required")
        if given_key != api_key:
            return anthropic_error(401, "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return anthropic_error(400, "anthropic-version: header is required")
        try:
            body = await request.json()
        except ValueError:
            return anthropic_error(400, "There was an issue with the request body: invalid JSON")
        if not isinstance(body, dict):
            return anthropic_error(400, "The request body is not a JSON object")
        model, max_tokens, turns = body.get("model"), body.get("max_tokens"), body.get("messages")
        if not isinstance(max_tokens, int) or max_tokens < 1:
            return anthropic_error(400, "max_tokens: Field required")
        if not isinstance(turns, list) or not turns:
            return anthropic_error(400, "messages: at least one message is required")
        entry = catalog.usable("anthropic", model) if isinstance(model, str) else None
        if entry is None:
            return anthropic_error(404, f"model: {model}")
        if entry.max_output_tokens and max_tokens > entry.max_output_tokens:
            return anthropic_error(
                400,
                f"max_tokens: {max_tokens} > {entry.max_output_tokens}, which is the maximum allowed "
                f"number of output tokens for {model}",
            )
        if faults.malformed:
            return Response(
                '{"id": "msg_01", "type": "message", "content": [{"type": "te',
                200,
                media_type="application/json",
            )

        system = _text(body.get("system"))
        user = "\n".join(
            _text(turn.get("content"))
            for turn in turns
            if isinstance(turn, dict) and turn.get("role") == "user"
        )
        topic = next(
            (line.strip() for line in _text(turns[-1].get("content")).splitlines() if line.strip()), ""
        )
        content: list[dict[str, str]] = []
        stop_reason = "end_turn"
        if faults.refuse:
            stop_reason = "refusal"
        elif not faults.empty:
            instructions = system + "\n" + user
            text = write_list(
                draft_items(topic, requested_count(instructions), avoid=user),
                faults.reply_style,
                requested_json_key(instructions),
            )
            if len(text) > max_tokens * 4:
                text, stop_reason = text[: max_tokens * 4], "max_tokens"
            content = [{"type": "text", "text": text}]
        output_chars = sum(len(block["text"]) for block in content)
        return JSONResponse(
            {
                "id": f"msg_{uuid.uuid4().hex[:24]}",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": content,
                "stop_reason": stop_reason,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": max(1, len(system + user) // 4),
                    "output_tokens": max(1, output_chars // 4),
                },
            },
            headers={"request-id": f"req_{uuid.uuid4().hex[:24]}"},
        )

    app = Starlette(routes=[Route("/v1/messages", messages, methods=["POST"]), *admin_routes()])
    app.state.faults = Faults()
    app.state.requests = RequestLog()
    return app
