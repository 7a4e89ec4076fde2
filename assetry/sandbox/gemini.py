"""A local imitation of the Gemini API's `generateContent`, as google-genai speaks to it.

`POST /v1beta/models/{model}:generateContent` (and `/v1/…`) with the key in `x-goog-api-key`
(or `?key=`). Only Gemini models in the provider catalog (`assetry.services.catalog`) that
are not past their shutdown date exist: any other id answers 404 NOT_FOUND as Google does
for a shut-down model; an image model asked for an aspect ratio its entry does not allow,
or a caption model asked for images, answers 400 INVALID_ARGUMENT. Text models answer with deterministic text derived from the prompt:
a list of the size the prompt asks for ("exactly N"), as JSON when the request
sets `responseMimeType: application/json`, else as a numbered list. Image models
draw a real PNG (Pillow) and return it as `inlineData`.

Errors use Google's shape `{"error": {"code", "message", "status", "details"}}`.
Faults (see `assetry.sandbox.llm.Faults`): `status` (429 carries `RetryInfo` and a
`retry-after` header), `delay_s`, `malformed` (a truncated JSON body), `refuse`
(a candidate with `finishReason: SAFETY` / `IMAGE_SAFETY` and no content),
`empty` (no candidates, `promptFeedback.blockReason`), `reply_style`.
"""

from __future__ import annotations

import base64
import hashlib
import io
import uuid
from typing import Any

from PIL import Image, ImageDraw
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

SANDBOX_KEY = "sandbox-gemini-key"
# What Gemini's image models return for the studio's aspect ratios; others get about a megapixel.
IMAGE_SIZES = {"1:1": (1024, 1024), "9:16": (768, 1344), "16:9": (1344, 768), "3:4": (896, 1152)}

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_STATUS_MESSAGES = {
    429: "You exceeded your current quota, please check your plan and billing details.",
    500: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
    504: "Deadline expired before operation could complete.",
}


def google_error(
    code: int, message: str, *, details: list[dict] | None = None, headers: dict | None = None
) -> JSONResponse:
    """An error in Google's JSON shape."""
    error: dict[str, Any] = {"code": code, "message": message, "status": _STATUS_NAMES.get(code, "UNKNOWN")}
    if details:
        error["details"] = details
    return JSONResponse({"error": error}, status_code=code, headers=headers)


def _fault_response(status: int, faults: Faults) -> JSONResponse:
    details, headers = None, None
    if status == 429 and faults.retry_after is not None:
        details = [
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{faults.retry_after:g}s"}
        ]
        headers = {"retry-after": f"{faults.retry_after:g}"}
    message = _STATUS_MESSAGES.get(status, "The service is currently unavailable.")
    return google_error(status, message, details=details, headers=headers)


def _texts(content: dict | None) -> str:
    parts = (content or {}).get("parts") or []
    return "\n".join(part["text"] for part in parts if isinstance(part, dict) and "text" in part)


def _schema_list_key(config: dict) -> str | None:
    schema = config.get("responseJsonSchema") or config.get("responseSchema") or {}
    for name, spec in (schema.get("properties") or {}).items():
        if str(spec.get("type", "")).lower() == "array":
            return name
    return None


def _megapixel(ratio: str) -> tuple[int, int]:
    """About a megapixel in the given `w:h` shape, sides a multiple of 16 (what a 1K image is)."""
    across, down = (int(side) for side in ratio.split(":"))
    height = (1024 * 1024 * down / across) ** 0.5
    return round(height * across / down / 16) * 16, round(height / 16) * 16


def draw_png(prompt: str, width: int, height: int, seed: int | None) -> bytes:
    """A deterministic PNG for a prompt: two colour bands and a disc from its hash."""
    digest = hashlib.sha256(f"{prompt}|{seed}".encode()).digest()
    image = Image.new("RGB", (width, height), tuple(digest[0:3]))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, height // 2, width, height), fill=tuple(digest[3:6]))
    radius = min(width, height) // 4
    cx, cy = width // 2, height // 2
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=tuple(digest[6:9]))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _usage(prompt: str, reply: str) -> dict[str, int]:
    prompt_tokens, reply_tokens = max(1, len(prompt) // 4), max(1, len(reply) // 4)
    return {
        "promptTokenCount": prompt_tokens,
        "candidatesTokenCount": reply_tokens,
        "totalTokenCount": prompt_tokens + reply_tokens,
    }


def create_app(api_key: str = SANDBOX_KEY) -> Starlette:
    """The imitation; `app.state.faults` switches faults, `app.state.requests` logs requests."""

    async def models(request: Request) -> Response:
        faults: Faults = request.app.state.faults
        await request.app.state.requests.record(request)
        await slow_down(faults)
        if (status := faults.take_status()) is not None:
            return _fault_response(status, faults)

        given_key = request.headers.get("x-goog-api-key") or request.query_params.get("key")
        if not given_key:
            return google_error(
                403,
                "Method doesn't allow unregistered callers (callers without established identity). "
                "Please use API Key or other form of API consumer identity to call this API.",
            )
        if given_key != api_key:
            return google_error(
                400,
                "API key not valid. Please pass a valid API key.",
                details=[
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                    }
                ],
            )

        model, _, method = request.path_params["target"].partition(":")
        if method != "generateContent":
            return google_error(404, f"Method {method or '(none)'} is not found on models/{model}.")
        entry = catalog.usable("gemini", model)
        if entry is None:
            return google_error(
                404,
                f"models/{model} is not found for API version {request.url.path.split('/')[1]}, "
                "or is not supported for generateContent. Call ListModels to see the list of "
                "available models and their supported methods.",
            )
        if faults.malformed:
            return Response(
                '{"candidates": [{"content": {"role": "model", "parts": [{"te',
                200,
                media_type="application/json",
            )

        try:
            body = await request.json()
            contents = body["contents"]
        except (ValueError, KeyError, TypeError):
            return google_error(400, "Invalid JSON payload received. Unknown name or missing 'contents'.")
        config = body.get("generationConfig") or {}
        system = _texts(body.get("systemInstruction"))
        user = "\n".join(
            _texts(c) for c in contents if isinstance(c, dict) and c.get("role", "user") == "user"
        )
        if not user.strip():
            return google_error(400, "* GenerateContentRequest.contents: contents is not specified")

        wants_image = "IMAGE" in [m.upper() for m in config.get("responseModalities") or []]
        if wants_image and entry.kind != catalog.IMAGE:
            return google_error(
                400, "The requested combination of response modalities (IMAGE) is not supported by the model."
            )
        ratio = (config.get("imageConfig") or {}).get("aspectRatio")
        if wants_image and ratio is not None and ratio not in entry.aspects:
            return google_error(
                400, f"Unsupported aspect ratio: {ratio}. Supported: {', '.join(entry.aspects)}."
            )
        common = {"modelVersion": model, "responseId": uuid.uuid4().hex[:22]}
        if faults.empty:
            return JSONResponse(
                {
                    "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
                    "usageMetadata": _usage(user, ""),
                    **common,
                }
            )
        if faults.refuse:
            reason = "IMAGE_SAFETY" if wants_image else "SAFETY"
            return JSONResponse(
                {
                    "candidates": [
                        {
                            "finishReason": reason,
                            "index": 0,
                            "safetyRatings": [
                                {
                                    "category": "HARM_CATEGORY_DANGEROUS_CONTENT",
                                    "probability": "HIGH",
                                    "blocked": True,
                                }
                            ],
                        }
                    ],
                    "usageMetadata": _usage(user, ""),
                    **common,
                }
            )

        topic = next((line.strip() for line in user.splitlines() if line.strip()), "")
        if wants_image:
            ratio = (config.get("imageConfig") or {}).get("aspectRatio", "1:1")
            png = draw_png(user, *IMAGE_SIZES.get(ratio, _megapixel(ratio)), config.get("seed"))
            parts: list[dict] = [
                {"text": f"Here is an image of {topic[:60]}."},
                {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(png).decode()}},
            ]
            reply = parts[0]["text"]
        else:
            json_mode = config.get("responseMimeType") == "application/json"
            key = (
                (_schema_list_key(config) or requested_json_key(system + user) or "items")
                if json_mode
                else None
            )
            items = draft_items(topic, requested_count(system + "\n" + user), avoid=user)
            reply = write_list(items, faults.reply_style, key)
            parts = [{"text": reply}]
        return JSONResponse(
            {
                "candidates": [
                    {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
                ],
                "usageMetadata": _usage(system + user, reply),
                **common,
            }
        )

    # google-genai 3.x defaults to /v1, the docs and older SDKs use /v1beta: serve both.
    app = Starlette(
        routes=[
            Route("/v1beta/models/{target}", models, methods=["POST"]),
            Route("/v1/models/{target}", models, methods=["POST"]),
            *admin_routes(),
        ]
    )
    app.state.faults = Faults()
    app.state.requests = RequestLog()
    return app
