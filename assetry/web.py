"""Plain HTTP routes beside the Reflex app, and the security headers on every response."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assetry.config import Mode, Settings, get_settings
from assetry.errors import AssetryError, BadInput, NotAllowed
from assetry.services import accounts, connections, dashboard, media, platforms, privacy, profile, status
from assetry.services.accounts import SESSION_COOKIE

log = logging.getLogger(__name__)


async def health(_request: Request) -> JSONResponse:
    """For readiness waits on one machine: 200 while the database answers, 503 when it does not."""
    if await status.database_answers():
        return JSONResponse({"status": "ok", "database": "ok"})
    return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)


async def health_live(_request: Request) -> JSONResponse:
    """The process is up and its event loop answers (a failing check means: restart it)."""
    return JSONResponse({"status": "live"}, headers={"cache-control": "no-store"})


def ready_response(checks: dict[str, str]) -> JSONResponse:
    """200 when every part answers; else 503 naming what is down (a proxy stops sending users here)."""
    down = [name for name, result in checks.items() if result != status.OK]
    body = {"status": "unavailable" if down else "ready", "checks": checks} | ({"down": down} if down else {})
    return JSONResponse(body, status_code=503 if down else 200, headers={"cache-control": "no-store"})


async def health_ready(_request: Request) -> JSONResponse:
    """Whether this backend can serve users: database, Redis and storage when configured, a live worker."""
    return ready_response(await status.readiness())


async def statements(_request: Request) -> JSONResponse:
    """How many statements this process sent for pages and requests (COUNT_STATEMENTS; else 404)."""
    counted = status.statements_for_pages()
    if counted is None:
        return JSONResponse({"error": "not found"}, status_code=404)
    return JSONResponse({"statements": counted})


def _to_the_bucket(link: str, cache_seconds: int) -> RedirectResponse:
    """The owner checked: the browser fetches the file from the bucket with a presigned link."""
    cache = f"private, max-age={cache_seconds}" if cache_seconds else "private, no-store"
    return RedirectResponse(link, status_code=302, headers={"cache-control": cache})


async def media_file(request: Request) -> StreamingResponse | RedirectResponse | PlainTextResponse:
    """A generated file, for its owner's browser only, through a signed, expiring URL."""
    try:
        found = await media.open_signed(request.path_params["token"], request.cookies.get(SESSION_COOKIE, ""))
    except FileNotFoundError as gone:
        return PlainTextResponse(str(gone), status_code=404)
    except NotAllowed as refused:
        return PlainTextResponse(str(refused), status_code=403)
    if found.link:  # cached less long than the link lives, so a cached redirect still works
        return _to_the_bucket(found.link, min(300, get_settings().media_url_ttl_seconds // 2))
    disposition = "attachment" if found.download else "inline"
    return StreamingResponse(
        found.chunks,
        media_type=found.content_type,
        headers={
            "content-length": str(found.size),
            "content-disposition": f'{disposition}; filename="{found.filename}"',
            # The link reads the same for an hour or more (media.url_for): kept until it expires.
            "cache-control": f"private, max-age={media.cache_seconds(found.expires)}",
        },
    )


async def export_archive(request: Request) -> StreamingResponse | RedirectResponse | PlainTextResponse:
    """A data export ZIP, for its owner's browser only, through a signed link that expires with it."""
    try:
        found = await privacy.open_export(
            request.path_params["token"], request.cookies.get(SESSION_COOKIE, "")
        )
    except FileNotFoundError as gone:
        return PlainTextResponse(str(gone), status_code=404)
    except NotAllowed as refused:
        return PlainTextResponse(str(refused), status_code=403)
    if found.link:
        return _to_the_bucket(found.link, 0)
    return StreamingResponse(  # in chunks: the archive is never read whole
        found.chunks,
        media_type="application/zip",
        headers={
            "content-length": str(found.size),
            "content-disposition": f'attachment; filename="{found.filename}"',
            "cache-control": "private, no-store",
        },
    )


async def analytics_csv(request: Request) -> StreamingResponse | PlainTextResponse:
    """The analytics dashboard's CSV for the logged-in creator, written as it is read: the range
    (`preset`, or `start` and `end`) and the account (`account`, else all) as the dashboard asks."""
    user = await accounts.user_for_token(request.cookies.get(SESSION_COOKIE, ""))
    if user is None:
        return PlainTextResponse("Log in to export your analytics.", status_code=403)
    asked = request.query_params
    try:
        period = dashboard.period_for(
            asked.get("preset", ""),
            today=dashboard.today_in(user.time_zone),
            zone=user.time_zone,
            start=asked.get("start", ""),
            end=asked.get("end", ""),
        )
        account_ids = [uuid.UUID(asked["account"])] if "account" in asked else None
    except ValueError:
        return PlainTextResponse("Pick an account from the list.", status_code=400)
    except BadInput as problem:
        return PlainTextResponse(str(problem), status_code=400)
    return StreamingResponse(
        dashboard.csv_text(user.id, period, account_ids=account_ids),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="{dashboard.csv_name(period)}"',
            "cache-control": "private, no-store",
        },
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


def local_path(raw: str | None, default: str) -> str:
    """`raw` when it is a path on this site, else `default`: the session routes redirect nowhere else."""
    # Browsers read a backslash as "/" and drop tabs and newlines: "/\\evil.example" is "//evil.example".
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return default
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in raw):
        return default
    parts = urlsplit(raw)
    return default if parts.scheme or parts.netloc else raw


def _back_to_the_app(path: str) -> RedirectResponse:
    """A redirect to a page of the app (at PUBLIC_URL: in `make dev` these routes answer on :8000)."""
    response = RedirectResponse(get_settings().origin + path, status_code=303)
    response.headers["cache-control"] = "no-store"
    return response


def _cookie_attributes() -> dict:
    settings = get_settings()
    # Lax, not Strict: the OAuth callbacks arrive as cross-site navigations and must carry it.
    return {"path": "/", "secure": settings.https, "httponly": True, "samesite": "lax"}


async def session_start(request: Request) -> RedirectResponse:
    """Swap a log-in's single-use ticket for the HttpOnly session cookie, then open `next`."""
    token = await accounts.redeem_ticket(request.query_params.get("ticket", ""))
    if token is None:
        return _back_to_the_app("/login")
    response = _back_to_the_app(local_path(request.query_params.get("next"), "/home"))
    response.set_cookie(
        SESSION_COOKIE, token, max_age=get_settings().session_days * 86400, **_cookie_attributes()
    )
    return response


def _from_our_page(request: Request) -> bool:
    """Whether the browser came here from a page of the app (not a link on another site)."""
    if request.headers.get("sec-fetch-site") == "same-origin":
        return True
    source = urlsplit(request.headers.get("origin") or request.headers.get("referer") or "")
    return f"{source.scheme}://{source.netloc}" == get_settings().origin


async def session_end(request: Request) -> RedirectResponse | PlainTextResponse:
    """Log this browser out: revoke its session and clear the cookie, then open `next`."""
    if not _from_our_page(request):
        return PlainTextResponse("Log out from Assetry's own pages.", status_code=403)
    await accounts.log_out(request.cookies.get(SESSION_COOKIE, ""))
    response = _back_to_the_app(local_path(request.query_params.get("next"), "/"))
    response.delete_cookie(SESSION_COOKIE, **_cookie_attributes())
    return response


async def worker_ready(_request: Request) -> JSONResponse:
    """A worker's readiness: the database, storage when configured, and a live heartbeat."""
    return ready_response(await status.readiness(redis=False))


def worker_health() -> Starlette:
    """The routes `python -m assetry worker --health-port N` answers beside its jobs."""
    return Starlette(routes=[Route("/health/live", health_live), Route("/health/ready", worker_ready)])


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
            Route("/health/live", health_live),
            Route("/health/ready", health_ready),
            Route("/health/statements", statements),
            Route("/media/{token}", media_file),
            Route("/exports/{token}", export_archive),
            Route(dashboard.CSV_ROUTE, analytics_csv),
            Route("/confirm-email/{token}", confirm_email),
            Route("/session/start", session_start),
            Route("/session/end", session_end),
            Route("/oauth/{platform}/callback", oauth_callback),
            *sandboxes,
        ]
    )


def security_headers(settings: Settings) -> dict[str, str]:
    """Headers every response carries; HSTS only when the public URL is https."""
    ws_origin = settings.origin.replace("https://", "wss://").replace("http://", "ws://")
    # Media in a bucket: /media/... redirects there (presigned), and the redirect must be allowed.
    bucket = f" {settings.storage_link_origin}" if settings.storage_link_origin else ""
    csp = "; ".join(
        [
            "default-src 'self'",
            # React Router hydration and Radix/Emotion need inline scripts and styles.
            "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src 'self' data: blob:{bucket}",
            "font-src 'self' data:",
            f"media-src 'self' blob:{bucket}",
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


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def loopback_alias_redirect(settings: Settings, scheme: str, host: str, path_and_query: str) -> str | None:
    """Where to send a request that reached a loopback alias of a loopback PUBLIC_URL, else None.

    With PUBLIC_URL=http://localhost:3000, people also type http://127.0.0.1:3000. That is the
    same server, but another origin: the websocket handshake is refused (only PUBLIC_URL's
    origin may connect), cookies are kept per host name, and the log-in and OAuth routes send
    the browser to PUBLIC_URL. So the request goes to PUBLIC_URL's origin, same path.
    Only the loopback names, with PUBLIC_URL's scheme and port, and only when PUBLIC_URL is
    itself a loopback address: any other host is left alone (and refused by the checks).
    """
    public = urlsplit(settings.public_url)
    asked = urlsplit(f"{scheme}://{host}")
    try:
        asked_port, public_port = asked.port, public.port
    except ValueError:
        return None
    default_port = {"http": 80, "https": 443}
    if public.hostname not in LOOPBACK_NAMES or asked.hostname not in LOOPBACK_NAMES:
        return None
    if asked.hostname == public.hostname or scheme != public.scheme:
        return None
    if (asked_port or default_port.get(scheme)) != (public_port or default_port.get(public.scheme)):
        return None
    return settings.origin + local_path(path_and_query, "/")


def at_the_public_origin(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: pages opened at a loopback alias of PUBLIC_URL move to PUBLIC_URL (see above)."""
    settings = get_settings()

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            query = scope.get("query_string", b"").decode("latin-1")
            path = scope.get("path", "/") + (f"?{query}" if query else "")
            target = loopback_alias_redirect(
                settings, scope.get("scheme", "http"), headers.get(b"host", b"").decode("latin-1"), path
            )
            if target is not None:
                await RedirectResponse(target, status_code=307)(scope, receive, send)
                return
        await app(scope, receive, send)

    return wrapped


def _built_pages(static: Path) -> frozenset[str]:
    """The paths of the production build's pages that are folders (`/login` for login/index.html)."""
    return frozenset(
        "/" + index.parent.relative_to(static).as_posix()
        for index in static.rglob("index.html")
        if index.parent != static
    )


def pages_at_their_own_path(app: ASGIApp, *, static: Path | None = None) -> ASGIApp:
    """ASGI middleware: /login serves the page /login/ serves, instead of a redirect there.

    The production build keeps each page as a folder's index.html, and the static server
    answers a folder's name without its slash with a redirect: one more round trip before
    anything shows, on every page opened from a link or a bookmark (on a phone's slow network,
    Lighthouse counts it at 0.6 s). The build's pages are read once it exists (it does not
    change while the app runs). `static`: the build's folder (Reflex's, unless given).
    """
    if static is None:
        from reflex.utils import prerequisites
        from reflex_base import constants

        static = prerequisites.get_web_dir() / constants.Dirs.STATIC
    pages: frozenset[str] = frozenset()

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal pages
        path = scope.get("path", "")
        if scope["type"] == "http" and scope.get("method") in ("GET", "HEAD") and not path.endswith("/"):
            if not pages and static.is_dir():
                pages = _built_pages(static)
            if path in pages:
                scope = {**scope, "path": path + "/", "raw_path": (path + "/").encode()}
        await app(scope, receive, send)

    return wrapped


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
