"""Captions from Anthropic's Claude models, through the anthropic SDK.

`AnthropicProvider(api_key=…, base_url=…)` wraps one `AsyncAnthropic` client and
calls `messages.create`. Captions are asked for as JSON in the prompt (see
`assetry.integrations.captions`). The model id comes in the request, never from here.

This module is `assetry.integrations.anthropic`; `import anthropic` below is an
absolute import and loads the SDK, not this file.

The SDK retries 408/409/429/5xx/529 and connection errors itself (`max_retries`
more attempts), waiting as long as `retry-after` says. What is left after that is
mapped to the project's errors:

- `BadInput`: Claude refused (`stop_reason: refusal`), or the request was rejected
  as invalid or too large (400, 413).
- `RateLimited`: 429 `rate_limit_error`, `retry_after` from the `retry-after` header.
- `AuthExpired`: the key was refused (401 `authentication_error`, 403 `permission_error`).
- `ProviderError`: 529 `overloaded_error`, other 5xx, unknown model (404), timeouts,
  unreachable, a body that is not JSON or not the documented shape, an answer without text.
"""

from __future__ import annotations

import json
from functools import partial

import anthropic
import httpx2
import pydantic

from assetry.errors import AuthExpired, BadInput, ProviderError, RateLimited
from assetry.integrations.captions import CaptionPrompt, write_captions
from assetry.integrations.generation import CaptionRequest
from assetry.integrations.tls import system_trust


class AnthropicProvider:
    """Captions from Claude, with errors mapped to `assetry.errors`."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        timeout_s: float = 60.0,
        max_retries: int = 2,
        http_client: httpx2.AsyncClient | None = None,
    ) -> None:
        self._timeout_s = timeout_s
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout_s,
            max_retries=max_retries,
            http_client=http_client or anthropic.DefaultAsyncHttpxClient(verify=system_trust()),
        )

    async def aclose(self) -> None:
        """Close the SDK's connections."""
        await self._client.close()

    async def __aenter__(self) -> AnthropicProvider:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def captions(self, request: CaptionRequest) -> list[str]:
        """Exactly `request.count` captions (or hooks, or scripts) for the creator's idea."""
        return await write_captions(request, partial(self._ask, request.model))

    async def _ask(self, model: str, prompt: CaptionPrompt) -> str:
        try:
            message = await self._client.messages.create(
                model=model,
                max_tokens=prompt.max_tokens,
                system=prompt.system,
                messages=[{"role": "user", "content": prompt.user}],
            )
        except anthropic.APIStatusError as error:
            raise _mapped(error, model) from error
        except anthropic.APITimeoutError as error:
            raise ProviderError(
                f"Claude did not answer within {self._timeout_s:g} seconds. Try again."
            ) from error
        except anthropic.APIConnectionError as error:
            raise ProviderError("Could not reach Anthropic. Try again in a minute.") from error
        except (json.JSONDecodeError, pydantic.ValidationError) as error:
            raise ProviderError("Anthropic sent a reply we could not read. Try again.") from error
        if message.stop_reason == "refusal":
            raise BadInput("Claude declined to write this. Rephrase the idea and try again.")
        text = "".join(block.text for block in message.content if block.type == "text")
        if not text.strip():
            raise ProviderError("Claude answered without any text. Try again.")
        return text


def _retry_after(error: anthropic.APIStatusError) -> float | None:
    try:
        return float(error.response.headers.get("retry-after", ""))
    except ValueError:
        return None


def _mapped(error: anthropic.APIStatusError, model: str) -> Exception:
    """The project's error for what Anthropic answered after the SDK's retries."""
    status = error.status_code
    body = error.body if isinstance(error.body, dict) else {}
    detail = body.get("error") if isinstance(body.get("error"), dict) else {}
    message = str(detail.get("message") or error.message)
    if status == 429:
        retry_after = _retry_after(error)
        when = f"in {retry_after:g} seconds" if retry_after else "in a minute"
        return RateLimited(f"Anthropic is rate-limiting us. Try again {when}.", retry_after=retry_after)
    if status in (401, 403):
        return AuthExpired(
            "Anthropic refused our API key. An administrator needs to check ANTHROPIC_API_KEY."
        )
    if status == 404:
        return ProviderError(
            f"Anthropic has no model '{model}'. An administrator needs to check the model id."
        )
    if status in (400, 413):
        return BadInput(f"Claude could not use this request: {message}")
    if status == 529:
        return ProviderError("Claude is overloaded right now. Try again in a few minutes.")
    return ProviderError(f"Anthropic is having trouble ({status}). Try again in a few minutes.")
