"""fal.ai images and videos through its queue, with the `fal-client` SDK.

A generation is submitted once (`submit_image` / `submit_video` return fal's
`request_id` at once; the caller stores it) and then followed with `status`,
`result` and `download`, which only ever read that request: resuming after a
restart with a stored id never submits again. `cancel` asks fal to drop it.

How the SDK is pointed at a configurable queue URL and a private CA: fal-client
1.x builds its own `httpx.AsyncClient` and reads its queue host once, at import,
from `FAL_QUEUE_RUN_HOST`, with no public hook for either. `_Sdk` subclasses
`fal_client.AsyncClient` to hand it our `httpx.AsyncClient` instead (the only
private name touched: `_client`), and `_QueueWire`, the transport under that
client, sends whatever the SDK addresses to its compiled-in queue host to
`queue_url`. So nothing reads FAL_* environment variables, and the CA a test
trusts (`verify=`) is trusted by this instance only.

The same wire:
- signs only queue traffic with `Authorization: Key …`: result files live on a
  CDN that must never see the key;
- stops a submit from being retried once it may have reached fal (a read
  timeout or a dropped reply to the POST): the SDK would resubmit and pay twice;
- turns a 429 into `RateLimited` with fal's `retry-after` at once, where the SDK
  would retry ten times on its own schedule, ignoring it.

Errors (`assetry.errors`):
- `BadInput`: an empty prompt, a count or duration out of range, a malformed
  model or request id (nothing is sent), or fal refusing the input (400/422,
  with fal's reason), or every image held back by fal's safety checker.
- `RateLimited`: 429, `retry_after` from the reply.
- `AuthExpired`: 401/403, "check FAL_KEY".
- `ProviderError`: 5xx; no answer within `timeout_s`; a connection failure; a
  reply that is not the JSON fal documents; an unknown request (404); a job fal
  could not finish (its error message); a result asked for before it is done; a
  result file that is gone (404), too large, or not a readable image or video.
"""

from __future__ import annotations

import asyncio
import email.utils
import io
import re
import ssl
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import fal_client
import httpx

from assetry.errors import AuthExpired, BadInput, ProviderError, RateLimited
from assetry.integrations.generation import ASPECT_SIZES, ImageRequest, MediaFile, QueueStatus, VideoRequest
from assetry.integrations.tls import system_trust

MAX_IMAGES = 4
MODEL_ID = re.compile(r"^[\w.-]+/[\w.-]+(/[\w.-]+)*$")
REQUEST_ID = re.compile(r"^[\w-]{1,100}$")
CHUNK = 64 * 1024
CALL_TRIES = 3  # a call may take this many times `timeout_s` (the SDK retries polls)


@dataclass(frozen=True)
class FalOutput:
    """What a finished fal request produced: file URLs (on fal's CDN) and the seed it used."""

    urls: list[str]
    seed: int | None = None


class FalProvider:
    """fal.ai's queue for one API key, reached at `queue_url`."""

    def __init__(
        self,
        *,
        key: str,
        queue_url: str = "https://queue.fal.run",
        timeout_s: float = 30.0,
        video_duration_format: str = "{seconds}s",
        verify: ssl.SSLContext | bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """`transport` replaces the network (it then also decides what to trust); `verify` is
        the trust for the default one."""
        if not key:
            raise AuthExpired("fal.ai is not configured: set FAL_KEY.")
        if "{seconds}" not in video_duration_format:
            raise ValueError("The fal video duration format must contain {seconds}, like {seconds}s.")
        self._timeout_s = timeout_s
        self._video_duration_format = video_duration_format
        wire = _QueueWire(
            transport
            or httpx.AsyncHTTPTransport(verify=system_trust() if verify is True else verify, retries=1),
            queue_url=queue_url,
            sdk_host=_sdk_queue_host(),
            key=key,
            timeout_s=timeout_s,
        )
        self._http = httpx.AsyncClient(
            transport=wire,
            headers={"User-Agent": fal_client.client.USER_AGENT},
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=True,
        )
        self._sdk = _Sdk(self._http, key=key, default_timeout=timeout_s)

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def __aenter__(self) -> FalProvider:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    # ----- submit ----------------------------------------------------------
    async def submit_image(self, request: ImageRequest) -> str:
        """Queue an image generation; returns fal's request id (store it before anything else)."""
        _check_prompt(request.prompt)
        if not 1 <= request.count <= MAX_IMAGES:
            raise BadInput(f"Ask for 1 to {MAX_IMAGES} images at a time.")
        width, height = ASPECT_SIZES[request.aspect_ratio]
        arguments: dict[str, Any] = {
            "prompt": request.prompt.strip(),
            "image_size": {"width": width, "height": height},
            "num_images": request.count,
            "enable_safety_checker": True,
        }
        if request.seed is not None:
            arguments["seed"] = request.seed
        return await self._submit(request.model, arguments)

    async def submit_video(self, request: VideoRequest) -> str:
        """Queue a video generation; returns fal's request id (store it before anything else)."""
        _check_prompt(request.prompt)
        if not 1 <= request.duration_s <= 60:
            raise BadInput("A video lasts 1 to 60 seconds.")
        arguments: dict[str, Any] = {
            "prompt": request.prompt.strip(),
            "aspect_ratio": request.aspect_ratio,
            "duration": self._video_duration_format.format(seconds=request.duration_s),
        }
        if request.audio is not None:
            arguments["generate_audio"] = request.audio
        if request.seed is not None:
            arguments["seed"] = request.seed
        return await self._submit(request.model, arguments)

    async def _submit(self, model: str, arguments: dict[str, Any]) -> str:
        _check_model(model)
        async with self._calling("submit"):
            handle = await self._sdk.submit(model, arguments)
        if not isinstance(handle.request_id, str) or not REQUEST_ID.match(handle.request_id):
            raise ProviderError("fal.ai accepted the request but sent an id we cannot use.")
        return handle.request_id

    # ----- follow ----------------------------------------------------------
    async def status(self, model: str, request_id: str) -> QueueStatus:
        """Where the request is now; a request fal could not finish raises `ProviderError`."""
        handle = self._handle(model, request_id)
        async with self._calling("status"):
            status = await handle.status(with_logs=True)
        if isinstance(status, fal_client.Queued):
            return QueueStatus(state="IN_QUEUE", position=status.position)
        if isinstance(status, fal_client.InProgress):
            return QueueStatus(state="IN_PROGRESS", logs=_log_lines(status.logs))
        if isinstance(status, fal_client.Completed):
            if status.error:
                raise ProviderError(f"fal.ai could not finish this generation: {status.error}")
            return QueueStatus(state="COMPLETED", logs=_log_lines(status.logs))
        raise ProviderError("fal.ai sent a status we cannot read.")

    async def result(self, model: str, request_id: str) -> FalOutput:
        """The output URLs (and seed) of a finished request; never waits for an unfinished one."""
        current = await self.status(model, request_id)
        if current.state != "COMPLETED":
            raise ProviderError("fal.ai has not finished this generation yet.")
        handle = self._handle(model, request_id)
        async with self._calling("result"):
            output = await handle.get()
        return _parse_output(output)

    async def cancel(self, model: str, request_id: str) -> bool:
        """Ask fal to drop the request: True if it will, False if it had already finished."""
        handle = self._handle(model, request_id)
        async with self._calling("cancel"):
            try:
                await handle.cancel()
            except fal_client.FalClientHTTPError as error:
                if error.status_code == 400 and "ALREADY_COMPLETED" in error.response.text:
                    return False
                raise
        return True

    async def download(self, url: str, max_bytes: int) -> MediaFile:
        """Fetch one result file, streamed, refusing anything over `max_bytes`."""
        if httpx.URL(url).scheme != "https":
            raise ProviderError("fal.ai gave a result address that is not https; it was not fetched.")
        content = bytearray()
        try:
            async with self._http.stream("GET", url) as response:
                if response.status_code in (404, 410):
                    raise ProviderError(f"The provider's result file is gone ({response.status_code})")
                if response.status_code == 429:
                    raise RateLimited("fal.ai's file server is busy.", _retry_after(response.headers))
                if response.status_code >= 400:
                    raise ProviderError(
                        f"Could not download the provider's result file ({response.status_code})."
                    )
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise ProviderError(_too_large(max_bytes, int(declared)))
                async for chunk in response.aiter_bytes(CHUNK):
                    content += chunk
                    if len(content) > max_bytes:
                        raise ProviderError(_too_large(max_bytes))
                content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        except httpx.TimeoutException as error:
            raise ProviderError(
                f"The provider's file server did not answer within {self._timeout_s:g} s."
            ) from error
        except httpx.TransportError as error:
            raise ProviderError(
                f"Could not download the provider's result file ({type(error).__name__})."
            ) from error
        return await asyncio.to_thread(_describe, bytes(content), content_type)

    # ----- plumbing --------------------------------------------------------
    def _handle(self, model: str, request_id: str) -> fal_client.AsyncRequestHandle:
        _check_model(model)
        if not REQUEST_ID.match(request_id or ""):
            raise BadInput("That is not a fal.ai request id.")
        return fal_client.AsyncRequestHandle.from_request_id(self._http, model, request_id)

    def _calling(self, what: str) -> _Call:
        return _Call(what, self._timeout_s)


class _Call:
    """One call to fal: a deadline, and fal's and httpx's errors turned into ours."""

    def __init__(self, what: str, timeout_s: float) -> None:
        self._what = what
        self._timeout_s = timeout_s
        self._deadline = asyncio.timeout(timeout_s * CALL_TRIES)

    async def __aenter__(self) -> None:
        await self._deadline.__aenter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        try:
            await self._deadline.__aexit__(exc_type, exc, tb)
        except TimeoutError as error:
            raise ProviderError(_no_answer(self._timeout_s, submitted=self._what == "submit")) from error
        if exc is None or isinstance(exc, RateLimited | ProviderError | BadInput | AuthExpired):
            return
        if isinstance(exc, fal_client.FalClientHTTPError):
            raise _http_error(exc) from exc
        if isinstance(exc, httpx.TimeoutException | TimeoutError):
            raise ProviderError(_no_answer(self._timeout_s, submitted=self._what == "submit")) from exc
        if isinstance(exc, httpx.TransportError):
            raise ProviderError(f"Could not reach fal.ai ({type(exc).__name__}).") from exc
        if isinstance(exc, ValueError | KeyError | TypeError | AttributeError):
            raise ProviderError("fal.ai sent a reply we cannot read.") from exc


class _Sdk(fal_client.AsyncClient):
    """fal-client's AsyncClient on our httpx client (it has no public hook for one)."""

    def __init__(self, http: httpx.AsyncClient, *, key: str, default_timeout: float) -> None:
        super().__init__(key=key, default_timeout=default_timeout)
        self._http = http

    @property
    def _client(self) -> Awaitable[httpx.AsyncClient]:  # type: ignore[override]
        return _ready(self._http)


async def _ready(http: httpx.AsyncClient) -> httpx.AsyncClient:
    return http


class _QueueWire(httpx.AsyncBaseTransport):
    """Sends the SDK's queue traffic to `queue_url`, signed; see the module docstring."""

    def __init__(
        self, inner: httpx.AsyncBaseTransport, *, queue_url: str, sdk_host: str, key: str, timeout_s: float
    ) -> None:
        base = httpx.URL(queue_url.rstrip("/"))
        self._timeout_s = timeout_s
        self._inner = inner
        self._base = base
        self._origin = _origin(base)
        self._sdk_host = sdk_host
        self._authorization = f"Key {key}"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == self._sdk_host and _origin(request.url) != self._origin:
            request = self._to_queue(request)
        on_queue = _origin(request.url) == self._origin
        if on_queue:
            request.headers["Authorization"] = self._authorization
            # The SDK asks for 120 s per status poll; each try gets `timeout_s`, the call 3 tries.
            request.extensions["timeout"] = {
                phase: self._timeout_s if limit is None else min(limit, self._timeout_s)
                for phase, limit in request.extensions.get("timeout", {}).items()
            } or httpx.Timeout(self._timeout_s).as_dict()
        else:
            request.headers.pop("Authorization", None)
        submitting = on_queue and request.method == "POST"
        try:
            response = await self._inner.handle_async_request(request)
            if submitting:
                # Read the reply here, where a dropped one can still be kept from a resubmit.
                await response.aread()
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
            raise  # nothing reached fal: the SDK may try again
        except httpx.TransportError as error:
            if not submitting:
                raise
            if isinstance(error, httpx.TimeoutException):
                raise ProviderError(_no_answer(self._timeout_s, submitted=True)) from error
            raise ProviderError(
                f"fal.ai dropped the connection before confirming the request ({type(error).__name__}). "
                "The request was not sent again (it may still run on fal.ai)."
            ) from error
        if on_queue and response.status_code == 429:
            await response.aread()
            await response.aclose()
            retry_after = _retry_after(response.headers)
            wait = f" Try again in {retry_after:g} s." if retry_after is not None else ""
            raise RateLimited(f"fal.ai is rate limiting this key.{wait}", retry_after)
        return response

    def _to_queue(self, request: httpx.Request) -> httpx.Request:
        url = request.url.copy_with(
            scheme=self._base.scheme,
            host=self._base.host,
            port=self._base.port,
            raw_path=self._base.raw_path.rstrip(b"/") + request.url.raw_path,
        )
        headers = request.headers.copy()
        headers["Host"] = url.netloc.decode("ascii")
        return httpx.Request(
            request.method, url, headers=headers, stream=request.stream, extensions=request.extensions
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


def _sdk_queue_host() -> str:
    """The host fal-client addresses queue requests to (fixed when it was imported)."""
    probe = fal_client.AsyncRequestHandle.from_request_id(None, "owner/app", "probe")  # type: ignore[arg-type]
    return httpx.URL(probe.status_url).host


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    port = url.port or {"https": 443, "http": 80}.get(url.scheme)
    return (url.scheme, url.host, port)


def _check_prompt(prompt: str) -> None:
    if not prompt or not prompt.strip():
        raise BadInput("Write a prompt first.")


def _check_model(model: str) -> None:
    if not MODEL_ID.match(model or ""):
        raise BadInput(f"{model!r} is not a fal.ai model id (like fal-ai/flux/schnell).")


def _http_error(error: fal_client.FalClientHTTPError) -> Exception:
    code = error.status_code
    detail = _detail(error.message)
    if code in (401, 403):
        return AuthExpired(f"fal.ai refused the API key ({code}): check FAL_KEY.")
    if code == 429:
        return RateLimited(
            "fal.ai is rate limiting this key.", _retry_after(httpx.Headers(error.response_headers))
        )
    if code == 404:
        return ProviderError("fal.ai does not know this request (404).")
    if code in (400, 422):
        return BadInput(f"fal.ai refused the request: {detail}" if detail else "fal.ai refused the request.")
    if code >= 500:
        return ProviderError(f"fal.ai had a server error ({code}). Try again in a few minutes.")
    return ProviderError(f"fal.ai answered {code}: {detail}" if detail else f"fal.ai answered {code}.")


def _detail(message: Any) -> str:
    """fal's `detail` is a string, or FastAPI's list of {loc, msg, type}."""
    if isinstance(message, list):
        parts = []
        for item in message:
            if isinstance(item, dict):
                where = ".".join(str(p) for p in item.get("loc", []) if p != "body")
                parts.append(f"{where}: {item.get('msg', '')}" if where else str(item.get("msg", "")))
            else:
                parts.append(str(item))
        return "; ".join(p for p in parts if p)[:300]
    text = str(message or "").strip()
    return "" if text.startswith("<") else text[:300]


def _retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _log_lines(logs: list[dict[str, Any]] | None) -> list[str]:
    return [str(entry.get("message", "")) for entry in logs or [] if isinstance(entry, dict)]


def _parse_output(output: Any) -> FalOutput:
    if not isinstance(output, dict):
        raise ProviderError("fal.ai sent a result we cannot read.")
    seed = output.get("seed") if isinstance(output.get("seed"), int) else None
    if isinstance(output.get("images"), list):
        files = output["images"]
    elif isinstance(output.get("image"), dict):
        files = [output["image"]]
    elif isinstance(output.get("video"), dict):
        files = [output["video"]]
    else:
        raise ProviderError("fal.ai sent a result without images or a video.")
    flagged = output.get("has_nsfw_concepts") or []
    urls = [
        item["url"]
        for index, item in enumerate(files)
        if isinstance(item, dict)
        and isinstance(item.get("url"), str)
        and not (index < len(flagged) and flagged[index] is True)
    ]
    if not urls:
        if flagged and all(flag is True for flag in flagged):
            raise BadInput("fal.ai's safety checker held back every image. Try a different prompt.")
        raise ProviderError("fal.ai sent a result without file addresses.")
    return FalOutput(urls=urls, seed=seed)


def _no_answer(timeout_s: float, *, submitted: bool) -> str:
    message = f"fal.ai did not answer within {timeout_s:g} s."
    if submitted:
        message += " The request was not sent again (it may still run on fal.ai)."
    return message


def _too_large(max_bytes: int, size: int | None = None) -> str:
    if size is None:
        return f"The provider's file is over the {_size(max_bytes)} limit; it was not saved."
    return f"The provider's file is {_size(size)}, over the {_size(max_bytes)} limit; it was not saved."


def _size(count: int) -> str:
    if count < 1000:
        return f"{count} bytes"
    if count < 1_000_000:
        return f"{count / 1000:.1f} kB"
    return f"{count / 1_000_000:.1f} MB"


IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


def _describe(content: bytes, declared_type: str) -> MediaFile:
    """Check that the bytes are the image or video they claim to be, and measure them."""
    if not declared_type.startswith("video/"):
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(content)) as image:
                image.verify()
                kind = IMAGE_TYPES.get(image.format or "")
                width, height = image.size
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            kind = None
        if kind:
            return MediaFile(content=content, content_type=kind, width=width, height=height)
        if declared_type.startswith("image/"):
            raise ProviderError("fal.ai's result file is not a readable image.")
    import av

    try:
        with av.open(io.BytesIO(content)) as container:
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            duration = container.duration / 1_000_000 if container.duration else None
    except (av.error.FFmpegError, IndexError, ValueError) as error:
        raise ProviderError("fal.ai's result file is not a readable video.") from error
    content_type = declared_type if declared_type.startswith("video/") else "video/mp4"
    return MediaFile(
        content=content, content_type=content_type, width=width, height=height, duration_s=duration
    )
