"""A local imitation of fal.ai's queue, as a Starlette app, for tests (see PROVIDERS.md).

- `POST /{owner}/{app}[/{path}]` (with `Authorization: Key …`) queues a request and
  answers `{request_id, status_url, response_url, cancel_url, queue_position}`;
  the three URLs sit under `/{owner}/{app}/requests/{id}`, without the sub-path,
  as on fal.
- `GET …/status?logs=1` (the SDK sends `logs=true`): `IN_QUEUE` with
  `queue_position`, then `IN_PROGRESS` with logs, then `COMPLETED`. Each poll
  moves a request one step: `polls_in_queue` polls in the queue, then
  `polls_in_progress` in progress.
- `GET …/requests/{id}`: the output, 400 while it runs. Images are
  `{"images": [{"url", "width", "height", "content_type"}], "seed", ...}`,
  videos `{"video": {"url", "content_type", "file_size"}, "seed"}`; the files are
  real PNGs (Pillow) and H.264 MP4s (PyAV) served by this app under `/files/`.
- `PUT …/cancel`: 202 `CANCELLATION_REQUESTED`, or 400 `ALREADY_COMPLETED`.
- Only models in the provider catalog (`assetry.services.catalog`) that are not
  past their retirement exist: any other app answers 404 `Application '…' not found`.
  Each model takes what its catalog entry allows and nothing else: 422 with
  FastAPI-style `detail` (`literal_error` for an aspect ratio or duration it does not
  have, `less_than_equal` for too many images), as fal's schema validation answers.
- 401 for a wrong key; 422 for a prompt containing `[refuse]` (standing in for
  fal's content checker); images for a prompt containing `[nsfw]` come back
  flagged in `has_nsfw_concepts`.

Faults are switched on `FalImitation.faults` (see `FalFaults`). Everything the
app received is in `calls`, and every request it queued in `submissions`, so a
test can assert that a request was submitted exactly once.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import itertools
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from assetry.services import catalog

DEFAULT_KEY = "sandbox-fal-key"
NAMED_SIZES = {
    "square_hd": (1024, 1024),
    "square": (512, 512),
    "portrait_4_3": (768, 1024),
    "portrait_16_9": (576, 1024),
    "landscape_4_3": (1024, 768),
    "landscape_16_9": (1024, 576),
}
# Real clips are 720p or more; the imitation's are tiny, with the right shape and length.
VIDEO_FRAME = {"9:16": (72, 128), "16:9": (128, 72), "1:1": (96, 96)}
# What fal defaults to when a field is left out (veo3 fast: 16:9, 8s).
VIDEO_DEFAULTS = {"aspect_ratio": "16:9", "duration": "8s"}
VIDEO_FPS = 4


@dataclass
class FalFaults:
    """Switches for what can go wrong. Counted faults hit the next N matching requests."""

    rate_limited: int = 0  # answer 429 with retry-after
    retry_after: int = 7
    server_errors: int = 0  # answer 500
    malformed: int = 0  # answer 200 with a body that is not JSON (a submit is still queued)
    slow_s: float = 0.0  # wait this long before every matching reply (a submit is queued first)
    dropped_replies: int = 0  # break the connection halfway through the reply (a submit is queued first)
    only: str | None = None  # limit the faults above to: submit, status, result, cancel, file
    fail_jobs: bool = False  # requests end COMPLETED with an error, their result is a 500
    never_complete: bool = False  # requests stay IN_PROGRESS forever
    files_gone: bool = False  # result files answer 404
    oversized_bytes: int | None = None  # files are padded to this size, sent without Content-Length


@dataclass
class _Job:
    request_id: str
    app: str  # owner/app[/path] as submitted
    root: str  # owner/app: where its status, result and cancel live
    input: dict[str, Any]
    video: bool
    seed: int
    polls: int = 0
    cancelled: bool = False
    failed: bool = False
    output: dict[str, Any] | None = None
    logs: list[dict[str, str]] = field(default_factory=list)


class FalImitation:
    """fal's queue in memory: `app` is the ASGI app, `faults` the switches."""

    def __init__(
        self,
        *,
        key: str = DEFAULT_KEY,
        polls_in_queue: int = 1,
        polls_in_progress: int = 1,
        files_url: str | None = None,
    ) -> None:
        """`files_url` is where result files are said to be (fal's CDN is on another host);
        by default this app's own address."""
        self.files_url = files_url
        self.key = key
        self.polls_in_queue = polls_in_queue
        self.polls_in_progress = polls_in_progress
        self.faults = FalFaults()
        self.jobs: dict[str, _Job] = {}
        self.submissions: list[tuple[str, dict[str, Any]]] = []
        self.calls: list[tuple[str, str]] = []  # (endpoint, path) of every request received
        self.files: dict[str, tuple[bytes, str]] = {}
        self.file_authorizations: list[str | None] = []  # the Authorization header of each file request
        self._seeds = itertools.count(1000)
        self.app = Starlette(
            routes=[
                Route("/files/{name}", self._file, methods=["GET"]),
                Route("/{owner}/{alias}/requests/{request_id}/status", self._status, methods=["GET"]),
                Route("/{owner}/{alias}/requests/{request_id}/cancel", self._cancel, methods=["PUT"]),
                Route("/{owner}/{alias}/requests/{request_id}", self._result, methods=["GET"]),
                Route("/{app:path}", self._submit, methods=["POST"]),
            ]
        )

    def reset(self) -> None:
        """Forget every request and switch every fault off."""
        self.faults = FalFaults()
        self.jobs.clear()
        self.submissions.clear()
        self.calls.clear()
        self.files.clear()
        self.file_authorizations.clear()

    def count(self, endpoint: str) -> int:
        """How many requests reached one endpoint (submit, status, result, cancel, file)."""
        return sum(1 for name, _ in self.calls if name == endpoint)

    # ----- endpoints -------------------------------------------------------
    async def _submit(self, request: Request) -> Response:
        refused = await self._enter("submit", request)
        if refused:
            return refused
        app = request.path_params["app"].strip("/")
        parts = app.split("/")
        model = catalog.usable("fal", app)
        if len(parts) < 2 or not all(parts) or model is None:
            return _error(404, f"Application '{app}' not found")
        try:
            body = await request.json()
        except ValueError:
            return _error(422, [{"loc": ["body"], "msg": "Invalid JSON", "type": "value_error.jsondecode"}])
        video = model.kind == catalog.VIDEO
        problems = _check_input(body, model)
        if problems:
            return _error(422, problems)
        job = _Job(
            request_id=str(uuid.uuid4()),
            app=app,
            root="/".join(parts[:2]),
            input=body,
            video=video,
            seed=body["seed"] if isinstance(body.get("seed"), int) else next(self._seeds),
        )
        self.jobs[job.request_id] = job
        self.submissions.append((app, body))
        await self._slow("submit")
        if self._take("dropped_replies", "submit"):
            return _DroppedReply()
        if self._take("malformed", "submit"):
            return Response('{"request_id": "' + job.request_id, media_type="application/json")
        base = f"{str(request.base_url).rstrip('/')}/{job.root}/requests/{job.request_id}"
        return JSONResponse(
            {
                "request_id": job.request_id,
                "response_url": base,
                "status_url": f"{base}/status",
                "cancel_url": f"{base}/cancel",
                "queue_position": self._queue_position(job),
            },
            headers={"x-fal-request-id": job.request_id},
        )

    async def _status(self, request: Request) -> Response:
        refused = await self._enter("status", request)
        if refused:
            return refused
        job = self._job(request)
        if job is None:
            return _error(404, "Request not found")
        await self._slow("status")
        if self._take("dropped_replies", "status"):
            return _DroppedReply()
        if self._take("malformed", "status"):
            return Response("<html>upstream hiccup</html>", media_type="text/html")
        self._advance(job)
        with_logs = request.query_params.get("logs", "").lower() in ("1", "true")
        reply: dict[str, Any] = {
            "request_id": job.request_id,
            "status": self._state(job),
            "logs": list(job.logs) if with_logs else None,
        }
        if reply["status"] == "IN_QUEUE":
            reply["queue_position"] = self._queue_position(job)
        if reply["status"] == "COMPLETED":
            reply["metrics"] = {"inference_time": 0.42}
            if job.cancelled:
                reply |= {"error": "Request was cancelled.", "error_type": "request_cancelled"}
            elif job.failed:
                reply |= {"error": "The model crashed while generating.", "error_type": "runner_error"}
        return JSONResponse(reply)

    async def _result(self, request: Request) -> Response:
        refused = await self._enter("result", request)
        if refused:
            return refused
        job = self._job(request)
        if job is None:
            return _error(404, "Request not found")
        await self._slow("result")
        if self._state(job) != "COMPLETED":
            return _error(400, "Request is still in progress")
        if job.cancelled:
            return _error(400, "Request was cancelled.")
        if job.failed:
            return _error(500, "The model crashed while generating.")
        if self._take("malformed", "result"):
            return Response('{"images": [', media_type="application/json")
        if job.output is None:
            files_url = (self.files_url or str(request.base_url)).rstrip("/")
            job.output = await asyncio.to_thread(self._render, job, files_url)
        return JSONResponse(job.output)

    async def _cancel(self, request: Request) -> Response:
        refused = await self._enter("cancel", request)
        if refused:
            return refused
        job = self._job(request)
        if job is None:
            return _error(404, "Request not found")
        await self._slow("cancel")
        if self._state(job) == "COMPLETED":
            return JSONResponse({"status": "ALREADY_COMPLETED"}, status_code=400)
        job.cancelled = True
        return JSONResponse({"status": "CANCELLATION_REQUESTED"}, status_code=202)

    async def _file(self, request: Request) -> Response:
        self.calls.append(("file", request.url.path))
        self.file_authorizations.append(request.headers.get("authorization"))
        await self._slow("file")
        stored = self.files.get(request.path_params["name"])
        if stored is None or self.faults.files_gone:
            return Response("Not Found", status_code=404, media_type="text/plain")
        content, content_type = stored
        if self.faults.oversized_bytes:
            padding = max(0, self.faults.oversized_bytes - len(content))

            async def padded() -> AsyncIterator[bytes]:
                yield content
                for start in range(0, padding, 64 * 1024):
                    yield bytes(min(64 * 1024, padding - start))

            return StreamingResponse(padded(), media_type=content_type)
        return Response(content, media_type=content_type)

    # ----- plumbing --------------------------------------------------------
    async def _enter(self, endpoint: str, request: Request) -> Response | None:
        """Record the call, check the key, and apply the counted faults that refuse it."""
        self.calls.append((endpoint, request.url.path))
        if request.headers.get("authorization") != f"Key {self.key}":
            return _error(401, "Invalid or missing API key. Authorization: Key <FAL_KEY> is required.")
        if self._take("rate_limited", endpoint):
            await self._slow(endpoint)
            return JSONResponse(
                {"detail": "Rate limit exceeded"},
                status_code=429,
                headers={"retry-after": str(self.faults.retry_after)},
            )
        if self._take("server_errors", endpoint):
            await self._slow(endpoint)
            return _error(500, "Internal Server Error")
        return None

    def _take(self, fault: str, endpoint: str) -> bool:
        if self.faults.only not in (None, endpoint) or getattr(self.faults, fault) <= 0:
            return False
        setattr(self.faults, fault, getattr(self.faults, fault) - 1)
        return True

    async def _slow(self, endpoint: str) -> None:
        if self.faults.slow_s and self.faults.only in (None, endpoint):
            await asyncio.sleep(self.faults.slow_s)

    def _job(self, request: Request) -> _Job | None:
        job = self.jobs.get(request.path_params["request_id"])
        root = f"{request.path_params['owner']}/{request.path_params['alias']}"
        return job if job is not None and job.root == root else None

    def _queue_position(self, job: _Job) -> int:
        return max(0, self.polls_in_queue - job.polls)

    def _state(self, job: _Job) -> str:
        if job.cancelled:
            return "COMPLETED"
        if job.polls <= self.polls_in_queue:
            return "IN_QUEUE"
        if self.faults.never_complete or job.polls <= self.polls_in_queue + self.polls_in_progress:
            return "IN_PROGRESS"
        return "COMPLETED"

    def _advance(self, job: _Job) -> None:
        job.polls += 1
        if self._state(job) == "IN_PROGRESS":
            step = job.polls - self.polls_in_queue
            job.logs.append({"message": f"Generating, step {step}", "level": "INFO", "source": "user"})
        elif self._state(job) == "COMPLETED" and self.faults.fail_jobs and not job.failed:
            job.failed = True
            job.logs.append({"message": "Runner crashed", "level": "ERROR", "source": "user"})

    def _render(self, job: _Job, base_url: str) -> dict[str, Any]:
        """Make the request's files and its output JSON."""
        if job.video:
            width, height = VIDEO_FRAME[job.input.get("aspect_ratio", VIDEO_DEFAULTS["aspect_ratio"])]
            seconds = int(re.sub(r"\D", "", str(job.input.get("duration", VIDEO_DEFAULTS["duration"]))))
            content = _mp4(width, height, seconds, job.seed)
            name = f"{job.request_id}.mp4"
            self.files[name] = (content, "video/mp4")
            return {
                "video": {
                    "url": f"{base_url}/files/{name}",
                    "content_type": "video/mp4",
                    "file_name": "output.mp4",
                    "file_size": len(content),
                },
                "seed": job.seed,
            }
        width, height = _image_size(job.input.get("image_size"))
        images = []
        for index in range(job.input.get("num_images", 1)):
            content = _png(width, height, job.seed + index)
            name = f"{job.request_id}-{index}.png"
            self.files[name] = (content, "image/png")
            images.append(
                {
                    "url": f"{base_url}/files/{name}",
                    "width": width,
                    "height": height,
                    "content_type": "image/png",
                }
            )
        return {
            "images": images,
            "seed": job.seed,
            # fal's safety checker blanks flagged images and says so here.
            "has_nsfw_concepts": ["[nsfw]" in job.input["prompt"]] * len(images),
            "prompt": job.input["prompt"],
            "timings": {"inference": 0.42},
        }


class _DroppedReply(Response):
    """Starts a reply, sends part of it, and breaks the connection."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"400")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"request_id": "', "more_body": True})
        raise ConnectionAbortedError("the fal imitation drops this reply on purpose")


def _error(status: int, detail: Any) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def _check_input(body: Any, model: catalog.ModelChoice) -> list[dict[str, Any]]:
    """FastAPI-style validation errors for what the model's catalog entry does not allow."""
    if not isinstance(body, dict):
        return [{"loc": ["body"], "msg": "Input should be an object", "type": "dict_type"}]
    problems = []

    def problem(name: str, msg: str, kind: str = "value_error", **ctx: Any) -> None:
        found = {"loc": ["body", name], "msg": msg, "type": kind}
        if name in body:
            found["input"] = body[name]
        if ctx:
            found["ctx"] = ctx
        problems.append(found)

    def literal(name: str, allowed: list[str]) -> None:
        expected = " or ".join(", ".join(f"'{a}'" for a in allowed).rsplit(", ", 1))
        problem(name, f"Input should be {expected}", "literal_error", expected=expected)

    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        problem("prompt", "Field required", "missing")
    elif "[refuse]" in prompt:
        problem("prompt", "The prompt was flagged by the content checker.", "content_policy_violation")
    if model.kind == catalog.VIDEO:
        if body.get("aspect_ratio", VIDEO_DEFAULTS["aspect_ratio"]) not in model.aspects:
            literal("aspect_ratio", list(model.aspects))
        lengths = [model.duration_format.format(seconds=s) for s in model.durations]
        if str(body.get("duration", VIDEO_DEFAULTS["duration"])) not in lengths:
            literal("duration", lengths)
        if "generate_audio" in body and not isinstance(body["generate_audio"], bool):
            problem("generate_audio", "Input should be a valid boolean", "bool_type")
    else:
        count = body.get("num_images", 1)
        if not isinstance(count, int) or not 1 <= count <= model.max_count:
            problem("num_images", f"Input should be less than or equal to {model.max_count}", "less_than_equal",
                    le=model.max_count)  # fmt: skip
        try:
            _image_size(body.get("image_size"))
        except ValueError:
            problem("image_size", "Input should be a named size or {width, height}")
    return problems


def _image_size(value: Any) -> tuple[int, int]:
    if value is None:
        return NAMED_SIZES["landscape_4_3"]
    if isinstance(value, str) and value in NAMED_SIZES:
        return NAMED_SIZES[value]
    if isinstance(value, dict):
        width, height = value.get("width"), value.get("height")
        if (
            isinstance(width, int)
            and isinstance(height, int)
            and 16 <= width <= 4096
            and 16 <= height <= 4096
        ):
            return width, height
    raise ValueError(value)


def _colour(seed: int) -> tuple[int, int, int]:
    digest = hashlib.sha256(str(seed).encode()).digest()
    return digest[0], digest[1], digest[2]


def _png(width: int, height: int, seed: int) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), _colour(seed))
    ImageDraw.Draw(image).rectangle(
        (width // 4, height // 4, width * 3 // 4, height * 3 // 4), fill=_colour(seed + 1)
    )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _mp4(width: int, height: int, seconds: int, seed: int) -> bytes:
    import av
    from PIL import Image

    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=VIDEO_FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for frame_index in range(seconds * VIDEO_FPS):
            frame = av.VideoFrame.from_image(Image.new("RGB", (width, height), _colour(seed + frame_index)))
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return out.getvalue()
