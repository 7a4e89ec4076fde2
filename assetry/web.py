"""Plain HTTP routes beside the Reflex app, and the security headers on every response."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assetry.config import Mode, Settings, get_settings
from assetry.errors import AssetryError, BadInput, NotAllowed
from assetry.services import connections, media, platforms, privacy, profile
from assetry.services.accounts import SESSION_COOKIE

log = logging.getLogger(__name__)


async def health(_request: Request) -> JSONResponse:
    """Liveness for load balancers and `make run`'s readiness wait."""
    return JSONResponse({"status": "ok"})


async def media_file(request: Request) -> StreamingResponse | PlainTextResponse:
    """A generated file, for its owner's browser only, through a signed, expiring URL."""
    try:
        found = await media.open_signed(request.path_params["token"], request.cookies.get(SESSION_COOKIE, ""))
    except FileNotFoundError as gone:
        return PlainTextResponse(str(gone), status_code=404)
    except NotAllowed as refused:
        return PlainTextResponse(str(refused), status_code=403)
    disposition = "attachment" if found.download else "inline"
    return StreamingResponse(
        found.chunks,
        media_type=found.content_type,
        headers={
            "content-length": str(found.size),
            "content-disposition": f'{disposition}; filename="{found.filename}"',
            "cache-control": "private, max-age=300",
        },
    )


async def export_archive(request: Request) -> FileResponse | PlainTextResponse:
    """A data export ZIP, for its owner's browser only, through a signed link that expires with it."""
    try:
        found = await privacy.open_export(
            request.path_params["token"], request.cookies.get(SESSION_COOKIE, "")
        )
    except FileNotFoundError as gone:
        return PlainTextResponse(str(gone), status_code=404)
    except NotAllowed as refused:
        return PlainTextResponse(str(refused), status_code=403)
    # FileResponse streams the file from disk in chunks; the archive is never read whole.
    return FileResponse(
        found.path,
        media_type="application/zip",
        filename=found.filename,
        headers={"cache-control": "private, no-store"},
    )


async def confirm_email(request: Request) -> RedirectResponse:
    """The single-use link sent to a new email address: makes it the account's address."""
    try:
        await profile.confirm_email_change(request.path_params["token"])
    except BadInput:
        return RedirectResponse("/settings?email=failed", status_code=303)
    return RedirectResponse("/settings?email=confirmed", status_code=303)


async def oauth_callback(request: Request) -> RedirectResponse:
    """Where TikTok and Instagram send the browser back after consent."""
    platform = request.path_params["platform"]
    if platform not in platforms.PLATFORMS:
        return RedirectResponse("/analytics?oauth=unknown", status_code=303)
    session_token = request.cookies.get(SESSION_COOKIE, "")
    try:
        connected = await connections.complete(platform, dict(request.query_params), session_token)
    except NotAllowed:
        outcome = "expired"
    except connections.ConsentDenied:
        outcome = "denied"
    except connections.AccountMismatch:
        outcome = "mismatch"
    except AssetryError:
        log.exception("connecting %s failed", platform)
        outcome = "failed"
    else:
        outcome = "reconnected" if connected.reconnected else "connected"
    return RedirectResponse(f"/analytics?oauth={outcome}&platform={platform}", status_code=303)


def routes() -> Starlette:
    """Our own routes; Reflex mounts its app underneath this one."""
    sandboxes = [
        Mount(f"{platforms.SANDBOX_PREFIX}/{platform}", app=platforms.sandbox(platform).app)
        for platform in platforms.PLATFORMS
        if platforms.is_sandbox(platform)
    ]
    if get_settings().apify_mode is Mode.EMBEDDED:
        from assetry.sandbox.apify import ApifyImitation

        sandboxes.append(Mount(f"{platforms.SANDBOX_PREFIX}/apify", app=ApifyImitation().app))
    return Starlette(
        routes=[
            Route("/health", health),
            Route("/media/{token}", media_file),
            Route("/exports/{token}", export_archive),
            Route("/confirm-email/{token}", confirm_email),
            Route("/oauth/{platform}/callback", oauth_callback),
            *sandboxes,
        ]
    )


def security_headers(settings: Settings) -> dict[str, str]:
    """Headers every response carries; HSTS only when the public URL is https."""
    ws_origin = settings.origin.replace("https://", "wss://").replace("http://", "ws://")
    csp = "; ".join(
        [
            "default-src 'self'",
            # React Router hydration and Radix/Emotion need inline scripts and styles.
            "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "media-src 'self' blob:",
            f"connect-src 'self' {ws_origin}",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )
    headers = {
        "content-security-policy": csp,
        "x-frame-options": "DENY",
        "x-content-type-options": "nosniff",
        "referrer-policy": "strict-origin-when-cross-origin",
        "permissions-policy": "camera=(), microphone=(), geolocation=()",
        "cross-origin-opener-policy": "same-origin",
    }
    if settings.https:
        headers["strict-transport-security"] = "max-age=63072000; includeSubDomains"
    return headers


def with_security_headers(app: ASGIApp) -> ASGIApp:
    """ASGI middleware adding `security_headers` to every HTTP response."""
    extra = [(k.encode(), v.encode()) for k, v in security_headers(get_settings()).items()]

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [h for h in extra if h[0] not in present]
            await send(message)

        await app(scope, receive, send_with_headers)

    return wrapped
