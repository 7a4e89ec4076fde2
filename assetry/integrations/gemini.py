"""Captions and images from Google's Gemini API, through the google-genai SDK.

`GeminiProvider(api_key=…, base_url=…)` wraps one `genai.Client`; calls go through
`client.aio.models.generate_content`. Captions are asked for as JSON with a
response schema (see `assetry.integrations.captions`); images come from an
image-capable Gemini model as inline image parts, one request per image. Model ids
come in the requests, never from here.

The SDK retries 408/429/5xx and transport errors itself (`max_retries` more
attempts, exponential backoff from `retry_delay_s`; it does not read `retry-after`).
What is left after that is mapped to the project's errors:

- `BadInput`: the prompt was blocked (`promptFeedback.blockReason`), the answer was
  stopped for safety (`finishReason` SAFETY, PROHIBITED_CONTENT, IMAGE_SAFETY, …),
  the image model answered only in words, or Gemini rejected the request (400).
- `RateLimited`: 429 RESOURCE_EXHAUSTED, `retry_after` from the `retry-after`
  header or the `RetryInfo.retryDelay` detail.
- `AuthExpired`: the key was refused (400 API_KEY_INVALID, 401, 403).
- `ProviderError`: 5xx, unknown model (404), timeouts, unreachable, a body that is
  not JSON or not the documented shape, an answer with no candidates or no text,
  an image we cannot open.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
from functools import partial
from typing import Any

import httpx
import httpx2
import pydantic
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from PIL import Image, UnidentifiedImageError

from assetry.errors import AuthExpired, BadInput, ProviderError, RateLimited
from assetry.integrations.captions import CaptionPrompt, write_captions
from assetry.integrations.generation import ASPECT_SIZES, CaptionRequest, ImageRequest, MediaFile
from assetry.integrations.tls import system_trust

MAX_IMAGE_PROMPT_CHARS = 2_000
MAX_IMAGES = 4
# Finish and block reasons that mean "Gemini would not make this": the creator should rephrase.
_REFUSALS = {
    "SAFETY",
    "RECITATION",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
    "IMAGE_RECITATION",
    "JAILBREAK",
    "MODEL_ARMOR",
}
_RETRIED_STATUSES = [408, 429, 500, 502, 503, 504]
# The SDK speaks httpx2 by default and httpx when GOOGLE_GENAI_HTTP_CLIENT=httpx: catch either.
_TIMEOUTS = (httpx2.TimeoutException, httpx.TimeoutException)
_UNREACHABLE = (httpx2.TransportError, httpx.TransportError)


class GeminiProvider:
    """Captions and images from Gemini, with errors mapped to `assetry.errors`."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        api_version: str = "v1beta",
        timeout_s: float = 120.0,
        max_retries: int = 2,
        retry_delay_s: float = 1.0,
        http_client: httpx2.AsyncClient | None = None,
    ) -> None:
        self._timeout_s = timeout_s
        options = types.HttpOptions(
            base_url=base_url,
            api_version=api_version,
            timeout=int(timeout_s * 1000),  # the SDK counts milliseconds
            retry_options=types.HttpRetryOptions(
                attempts=max_retries + 1,
                initial_delay=retry_delay_s,
                jitter=retry_delay_s,
                http_status_codes=_RETRIED_STATUSES,
            ),
            httpx_async_client=http_client,
            # The SDK's own clients trust the process's one CA context (`tls`), not a new one each.
            client_args={"verify": system_trust()},
            async_client_args={"verify": system_trust(), "ssl": system_trust()},
        )
        self._client = genai.Client(api_key=api_key, http_options=options)

    async def aclose(self) -> None:
        """Close the SDK's connections."""
        await self._client.aio.aclose()

    async def __aenter__(self) -> GeminiProvider:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def captions(self, request: CaptionRequest) -> list[str]:
        """Exactly `request.count` captions (or hooks, or scripts) for the creator's idea."""
        return await write_captions(request, partial(self._ask_for_captions, request.model))

    async def images(self, request: ImageRequest) -> list[MediaFile]:
        """`request.count` images for the prompt, each from its own request."""
        prompt = request.prompt.strip()
        if not prompt:
            raise BadInput("Describe the image first.")
        if len(prompt) > MAX_IMAGE_PROMPT_CHARS:
            raise BadInput(f"Keep the image prompt under {MAX_IMAGE_PROMPT_CHARS:,} characters.")
        if not 1 <= request.count <= MAX_IMAGES:
            raise BadInput(f"Ask for between 1 and {MAX_IMAGES} images at a time.")
        if request.aspect_ratio not in ASPECT_SIZES:
            raise BadInput(f"Choose one of these shapes: {', '.join(ASPECT_SIZES)}.")
        configs = [
            types.GenerateContentConfig(
                response_modalities=["TEXT", "IMAGE"],
                image_config=types.ImageConfig(aspect_ratio=request.aspect_ratio),
                seed=None if request.seed is None else request.seed + number,
            )
            for number in range(request.count)
        ]
        answers = await asyncio.gather(
            *(self._generate(request.model, prompt, config) for config in configs), return_exceptions=True
        )
        for answer in answers:
            if isinstance(answer, BaseException):
                raise answer
        return [_image_from(_answer_parts(answer)) for answer in answers]

    async def _ask_for_captions(self, model: str, prompt: CaptionPrompt) -> str:
        config = types.GenerateContentConfig(
            system_instruction=prompt.system,
            response_mime_type="application/json",
            response_json_schema=prompt.json_schema,
            # No max_output_tokens: thinking models spend it on thoughts and can answer with nothing.
        )
        parts = _answer_parts(await self._generate(model, prompt.user, config))
        text = "".join(part.text for part in parts if part.text and not part.thought)
        if not text.strip():
            raise ProviderError("Gemini answered without any text. Try again.")
        return text

    async def _generate(
        self, model: str, contents: str, config: types.GenerateContentConfig
    ) -> types.GenerateContentResponse:
        try:
            return await self._client.aio.models.generate_content(
                model=model, contents=contents, config=config
            )
        except genai_errors.APIError as error:
            raise _mapped(error, model) from error
        except _TIMEOUTS as error:
            raise ProviderError(
                f"Gemini did not answer within {self._timeout_s:g} seconds. Try again."
            ) from error
        except _UNREACHABLE as error:
            raise ProviderError("Could not reach Gemini. Try again in a minute.") from error
        except (json.JSONDecodeError, pydantic.ValidationError) as error:
            raise ProviderError("Gemini sent a reply we could not read. Try again.") from error


def _error_details(error: genai_errors.APIError) -> list[dict[str, Any]]:
    """The `error.details` list of Google's error body (RetryInfo, ErrorInfo, …)."""
    body = error.details if isinstance(error.details, dict) else {}
    inner = body.get("error")
    details = inner.get("details") if isinstance(inner, dict) else None
    return [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []


def _retry_after(error: genai_errors.APIError) -> float | None:
    header = error.response.headers.get("retry-after") if error.response is not None else None
    if header:
        try:
            return float(header)
        except ValueError:
            pass
    for detail in _error_details(error):
        delay = (
            str(detail.get("retryDelay", "")) if str(detail.get("@type", "")).endswith("RetryInfo") else ""
        )
        if match := re.fullmatch(r"([\d.]+)s", delay):
            return float(match.group(1))
    return None


def _key_refused(error: genai_errors.APIError) -> bool:
    if error.code in (401, 403):
        return True
    return error.code == 400 and any(d.get("reason") == "API_KEY_INVALID" for d in _error_details(error))


def _mapped(error: genai_errors.APIError, model: str) -> Exception:
    """The project's error for what Gemini answered after the SDK's retries."""
    if error.code == 429:
        retry_after = _retry_after(error)
        when = f"in {retry_after:g} seconds" if retry_after else "in a minute"
        return RateLimited(f"Gemini is rate-limiting us. Try again {when}.", retry_after=retry_after)
    if _key_refused(error):
        return AuthExpired("Gemini refused our API key. An administrator needs to check GEMINI_API_KEY.")
    if error.code == 404:
        return ProviderError(f"Gemini has no model '{model}'. An administrator needs to check the model id.")
    if error.code == 400:
        return BadInput(f"Gemini could not use this request: {error.message or 'no reason given'}")
    return ProviderError(
        f"Gemini is having trouble ({error.code} {error.status or ''}). Try again in a few minutes."
    )


def _answer_parts(response: types.GenerateContentResponse) -> list[types.Part]:
    """The first candidate's parts, or the reason there are none."""
    if not response.candidates:
        feedback = response.prompt_feedback
        if feedback and feedback.block_reason:
            raise BadInput(
                f"Gemini blocked this prompt ({_reason(feedback.block_reason)}). Rephrase it and try again."
            )
        raise ProviderError("Gemini answered with nothing. Try again.")
    candidate = response.candidates[0]
    reason = _reason(candidate.finish_reason)
    if reason in _REFUSALS:
        raise BadInput(
            f"Gemini declined this prompt for safety reasons ({reason}). Rephrase it and try again."
        )
    parts = candidate.content.parts if candidate.content and candidate.content.parts else []
    if not parts:
        raise ProviderError(f"Gemini answered with nothing ({reason or 'no reason given'}). Try again.")
    return parts


def _reason(value: Any) -> str:
    return str(getattr(value, "value", value or ""))


def _image_from(parts: list[types.Part]) -> MediaFile:
    """The first image in an answer, with its size read from the file itself."""
    for part in parts:
        blob = part.inline_data
        if blob and blob.data and (blob.mime_type or "").startswith("image/"):
            try:
                with Image.open(io.BytesIO(blob.data)) as image:
                    width, height = image.size
            except (UnidentifiedImageError, OSError) as error:
                raise ProviderError("Gemini sent an image we could not open. Try again.") from error
            return MediaFile(content=blob.data, content_type=blob.mime_type, width=width, height=height)
    words = " ".join(part.text for part in parts if part.text).strip()
    said = f' It said: "{words[:200]}"' if words else ""
    raise BadInput(f"Gemini answered without an image.{said} Rephrase the prompt and try again.")
