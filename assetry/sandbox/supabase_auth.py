"""A local imitation of Supabase Auth (GoTrue behind Supabase's API gateway), in memory.

What it reproduces, as the real service does it (see PROVIDERS.md):

- the gateway: every request under `/auth/v1` needs an `apikey` (header or query
  parameter) equal to the anon or the service-role key, else 401
  `{"message": "No API key found in request" | "Invalid API key", "hint": ...}`;
- `GET /health`; `POST /signup` (a session when sign-ups are auto-confirmed, the
  user alone while the email confirmation is pending, an obfuscated user for a
  confirmed email when confirmations are on); `POST /resend` (type `signup`: the
  confirmation mail again for an unconfirmed user, `{}` for any address); `POST /token?grant_type=password`
  and `?grant_type=refresh_token` (refresh tokens rotate; reusing a spent one
  outside the reuse interval revokes the whole session); `GET /user`,
  `PUT /user` (password change: strength rules, same-password refusal, other
  sessions logged out); `POST /logout?scope=global|local|others`;
  `DELETE /admin/users/{id}` (service-role token only);
- access tokens are HS256 JWTs with GoTrue's claims (`sub`, `aud`, `role`,
  `session_id`, `aal`, `amr`, ...), signed with the sandbox's own secret; the anon
  and service-role keys are JWTs signed the same way, like Supabase's legacy keys;
- errors in both of GoTrue's shapes: `{"code": 400, "error_code": "...", "msg": "..."}`
  by default, and `{"code": "...", "message": "..."}` (with the header echoed) when
  the request sends `X-Supabase-Api-Version: 2024-01-01`, as supabase-py does.
  Weak passwords add `"weak_password": {"reasons": [...]}` with status 422.

Switches (attributes of `SupabaseAuthImitation`): `autoconfirm`, `password_min_length`,
`required_characters`, `pwned_passwords`, `require_current_password`,
`refresh_reuse_interval`, and `faults` (a status code, a delay, a malformed body)
for testing what our code does when the service misbehaves. `confirm_email(email)`
stands in for the user clicking the link in the confirmation mail. `users`,
`sessions` and `requests` (method and path of every call) are there to inspect.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

API_VERSION_HEADER = "X-Supabase-Api-Version"
API_VERSION_2024 = "2024-01-01"
MAX_PASSWORD_LENGTH = 72  # bcrypt's limit, which GoTrue enforces
INVALID_LOGIN = "Invalid login credentials"
CURRENT_PASSWORD_REQUIRED = "Current password required when setting new password."
BAD_JWT = "invalid JWT: unable to parse or verify signature, "
UNEXPECTED_FAILURE = "Unexpected failure, please check server logs for more information"
NO_KEY_HINT = "No `apikey` request header or url param was found."
BAD_KEY_HINT = "Double check your Supabase `anon` or `service_role` API key."
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AuthProblem(Exception):
    """A GoTrue error: HTTP status, error code, message (and weak-password reasons)."""

    def __init__(self, status: int, code: str, message: str, reasons: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.reasons = reasons


@dataclass
class Faults:
    """Misbehaviour to inject; `only` limits it to request paths ending with that text."""

    status: int | None = None
    delay: float = 0.0
    malformed: bool = False
    only: str | None = None

    def applies_to(self, path: str) -> bool:
        return self.only is None or path.rstrip("/").endswith(self.only.rstrip("/"))

    def clear(self) -> None:
        self.status, self.delay, self.malformed, self.only = None, 0.0, False, None


@dataclass
class SandboxUser:
    id: str
    email: str
    password_hash: bytes
    salt: bytes
    created_at: datetime
    updated_at: datetime
    user_metadata: dict[str, Any] = field(default_factory=dict)
    email_confirmed_at: datetime | None = None
    confirmation_sent_at: datetime | None = None
    last_sign_in_at: datetime | None = None
    deleted_at: datetime | None = None
    identity_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class SandboxSession:
    id: str
    user_id: str
    created_at: datetime
    active_refresh_token: str = ""


@dataclass
class SandboxRefreshToken:
    token: str
    session_id: str
    issued_at: float
    revoked_at: float | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z") if moment else None


class SupabaseAuthImitation:
    """One in-memory Supabase Auth project; serve `.app` (an ASGI app) anywhere."""

    def __init__(
        self,
        *,
        autoconfirm: bool = True,
        password_min_length: int = 6,
        required_characters: tuple[str, ...] = (),
        pwned_passwords: frozenset[str] = frozenset(),
        require_current_password: bool = False,
        access_token_seconds: int = 3600,
        refresh_reuse_interval: float = 10.0,
        jwt_secret: str | None = None,
    ) -> None:
        self.autoconfirm = autoconfirm
        self.password_min_length = password_min_length
        self.required_characters = required_characters
        self.pwned_passwords = pwned_passwords
        self.require_current_password = require_current_password
        self.access_token_seconds = access_token_seconds
        self.refresh_reuse_interval = refresh_reuse_interval
        self.faults = Faults()
        self.jwt_secret = jwt_secret or secrets.token_urlsafe(32)
        issued = int(time.time())
        self.anon_key = self._sign({"iss": "supabase-sandbox", "role": "anon", "iat": issued})
        self.service_role_key = self._sign({"iss": "supabase-sandbox", "role": "service_role", "iat": issued})
        self.users: dict[str, SandboxUser] = {}
        self.sessions: dict[str, SandboxSession] = {}
        self.refresh_tokens: dict[str, SandboxRefreshToken] = {}
        self.requests: list[tuple[str, str]] = []
        gotrue = Starlette(
            routes=[Mount("/auth/v1", routes=self._routes())],
            exception_handlers={AuthProblem: _problem_response},
        )
        self.app: ASGIApp = _Gateway(self, gotrue)

    # ----- what tests and sandbox mode use directly ---------------------------
    def user_by_email(self, email: str) -> SandboxUser | None:
        """The live (not deleted) user with this email, if any."""
        email = email.strip().lower()
        return next((u for u in self.users.values() if u.email == email and not u.deleted_at), None)

    def confirm_email(self, email: str) -> None:
        """What clicking the link in the confirmation mail does."""
        user = self.user_by_email(email)
        if user is None:
            raise KeyError(email)
        user.email_confirmed_at = _now()

    def sessions_of(self, user_id: str) -> list[SandboxSession]:
        return [s for s in self.sessions.values() if s.user_id == user_id]

    # ----- routes ------------------------------------------------------------
    def _routes(self) -> list[Route]:
        return [
            Route("/health", self._health, methods=["GET"]),
            Route("/signup", self._signup, methods=["POST"]),
            Route("/resend", self._resend, methods=["POST"]),
            Route("/token", self._token, methods=["POST"]),
            Route("/user", self._get_user, methods=["GET"]),
            Route("/user", self._update_user, methods=["PUT"]),
            Route("/logout", self._logout, methods=["POST"]),
            Route("/admin/users/{user_id}", self._admin_delete_user, methods=["DELETE"]),
        ]

    async def _health(self, _request: Request) -> Response:
        return JSONResponse(
            {
                "version": "v2-sandbox",
                "name": "GoTrue",
                "description": "GoTrue is a user registration and authentication API",
            }
        )

    async def _signup(self, request: Request) -> Response:
        body = await _json_body(request)
        email = str(body.get("email") or "").strip().lower()
        password = body.get("password")
        if not email:
            raise AuthProblem(422, "validation_failed", "To signup, please provide your email")
        if not _EMAIL.match(email):
            raise AuthProblem(400, "email_address_invalid", f'Email address "{email}" is invalid')
        if not isinstance(password, str) or not password:
            raise AuthProblem(422, "validation_failed", "Signup requires a valid password")
        self._check_password_strength(password)
        data = body.get("data") if isinstance(body.get("data"), dict) else {}

        existing = self.user_by_email(email)
        if existing is not None:
            if existing.email_confirmed_at is not None:
                if self.autoconfirm:
                    raise AuthProblem(422, "user_already_exists", "User already registered")
                # Confirmations on: a look-alike user, so sign-up can't probe for accounts.
                return JSONResponse(self._obfuscated_user(email, data))
            # Unconfirmed: the mail is sent again; the stored user is not changed.
            existing.confirmation_sent_at = _now()
            return JSONResponse(self._user_json(existing))

        now = _now()
        salt = secrets.token_bytes(16)
        user = SandboxUser(
            id=str(uuid.uuid4()),
            email=email,
            password_hash=_hash(password, salt),
            salt=salt,
            created_at=now,
            updated_at=now,
            user_metadata=dict(data),
        )
        self.users[user.id] = user
        if self.autoconfirm:
            user.email_confirmed_at = now
            return JSONResponse(self._issue_session(request, user))
        user.confirmation_sent_at = now
        return JSONResponse(self._user_json(user))

    async def _resend(self, request: Request) -> Response:
        """Send the sign-up confirmation mail again: only to an unconfirmed user, with the same answer for any."""
        body = await _json_body(request)
        if body.get("type") != "signup":
            raise AuthProblem(
                400,
                "validation_failed",
                "Missing one of these types: signup, email_change, sms, phone_change",
            )
        user = self.user_by_email(str(body.get("email") or ""))
        if user is not None and user.email_confirmed_at is None:
            user.confirmation_sent_at = _now()
        return JSONResponse({})

    async def _token(self, request: Request) -> Response:
        grant_type = request.query_params.get("grant_type", "")
        body = await _json_body(request)
        if grant_type == "password":
            return JSONResponse(self._password_grant(request, body))
        if grant_type == "refresh_token":
            return JSONResponse(self._refresh_grant(request, body))
        raise AuthProblem(400, "invalid_credentials", "unsupported_grant_type")

    def _password_grant(self, request: Request, body: dict) -> dict:
        email = str(body.get("email") or "").strip().lower()
        password = body.get("password")
        if not email:
            raise AuthProblem(400, "validation_failed", "missing email or phone")
        user = self.user_by_email(email)
        if user is None or not isinstance(password, str) or not _password_matches(user, password):
            raise AuthProblem(400, "invalid_credentials", INVALID_LOGIN)
        if user.email_confirmed_at is None:
            raise AuthProblem(400, "email_not_confirmed", "Email not confirmed")
        return self._issue_session(request, user)

    def _refresh_grant(self, request: Request, body: dict) -> dict:
        presented = self.refresh_tokens.get(str(body.get("refresh_token") or ""))
        session = self.sessions.get(presented.session_id) if presented else None
        if presented is None or session is None:
            raise AuthProblem(
                400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found"
            )
        user = self.users[session.user_id]
        if presented.revoked_at is not None:
            within_reuse = time.time() - presented.revoked_at <= self.refresh_reuse_interval
            if within_reuse and session.active_refresh_token:
                # A client that lost the reply may retry: it gets the current token again.
                return self._session_reply(request, user, session, session.active_refresh_token)
            self._end_session(session.id)
            raise AuthProblem(400, "refresh_token_already_used", "Invalid Refresh Token: Already Used")
        presented.revoked_at = time.time()
        return self._session_reply(request, user, session, self._new_refresh_token(session))

    async def _get_user(self, request: Request) -> Response:
        user, _session = self._authenticate(request)
        return JSONResponse(self._user_json(user))

    async def _update_user(self, request: Request) -> Response:
        user, session = self._authenticate(request)
        body = await _json_body(request)
        if body.get("email") or body.get("phone"):
            raise AuthProblem(
                422, "validation_failed", "The sandbox does not imitate email or phone changes."
            )
        password = body.get("password")
        if password is not None:
            if not isinstance(password, str) or not password:
                raise AuthProblem(422, "validation_failed", "Password update requires a valid password")
            self._check_password_strength(password)
            if self.require_current_password:
                current = body.get("current_password")
                if not current:
                    raise AuthProblem(400, "current_password_required", CURRENT_PASSWORD_REQUIRED)
                if not _password_matches(user, str(current)):
                    raise AuthProblem(400, "current_password_mismatch", CURRENT_PASSWORD_REQUIRED)
            if _password_matches(user, password):
                raise AuthProblem(
                    422, "same_password", "New password should be different from the old password."
                )
            user.salt = secrets.token_bytes(16)
            user.password_hash = _hash(password, user.salt)
            for other in self.sessions_of(user.id):
                if session is None or other.id != session.id:
                    self._end_session(other.id)
        if isinstance(body.get("data"), dict):
            user.user_metadata.update(body["data"])
        user.updated_at = _now()
        return JSONResponse(self._user_json(user))

    async def _logout(self, request: Request) -> Response:
        user, session = self._authenticate(request)
        scope = request.query_params.get("scope", "global")
        if scope not in {"global", "local", "others"}:
            raise AuthProblem(400, "validation_failed", f'Unsupported logout scope "{scope}"')
        for candidate in self.sessions_of(user.id):
            this_one = session is not None and candidate.id == session.id
            if scope == "global" or (scope == "local" and this_one) or (scope == "others" and not this_one):
                self._end_session(candidate.id)
        return Response(status_code=204)

    async def _admin_delete_user(self, request: Request) -> Response:
        claims = self._claims(request)
        if claims.get("role") != "service_role":
            raise AuthProblem(403, "not_admin", "User not allowed")
        user_id = request.path_params["user_id"]
        try:
            uuid.UUID(user_id)
        except ValueError:
            raise AuthProblem(404, "validation_failed", "user_id must be an UUID") from None
        user = self.users.get(user_id)
        if user is None:
            raise AuthProblem(404, "user_not_found", "User not found")
        body = await _json_body(request, allow_empty=True)
        for session in self.sessions_of(user_id):
            self._end_session(session.id)
        if body.get("should_soft_delete"):
            user.deleted_at = user.deleted_at or _now()
        else:
            del self.users[user_id]
        return JSONResponse({})

    # ----- helpers -----------------------------------------------------------
    def _check_password_strength(self, password: str) -> None:
        if len(password) > MAX_PASSWORD_LENGTH:
            raise AuthProblem(
                400, "validation_failed", f"Password cannot be longer than {MAX_PASSWORD_LENGTH} characters"
            )
        reasons, messages = [], []
        if len(password) < self.password_min_length:
            reasons.append("length")
            messages.append(f"Password should be at least {self.password_min_length} characters.")
        if any(chars and not any(c in chars for c in password) for chars in self.required_characters):
            reasons.append("characters")
            messages.append(
                "Password should contain at least one character of each: "
                + ", ".join(self.required_characters)
                + "."
            )
        if password in self.pwned_passwords:
            reasons.append("pwned")
            messages.append("Password is known to be weak and easy to guess, please choose a different one.")
        if reasons:
            raise AuthProblem(422, "weak_password", " ".join(messages), reasons)

    def _sign(self, claims: dict) -> str:
        return jwt.encode(claims, self.jwt_secret, algorithm="HS256", headers={"typ": "JWT"})

    def _claims(self, request: Request) -> dict:
        header = request.headers.get("authorization", "")
        match = re.fullmatch(r"(?i)bearer (\S+)", header.strip())
        if not match:
            raise AuthProblem(401, "no_authorization", "This endpoint requires a valid Bearer token")
        try:
            return jwt.decode(
                match.group(1), self.jwt_secret, algorithms=["HS256"], options={"verify_aud": False}
            )
        except jwt.ExpiredSignatureError:
            raise AuthProblem(
                403, "bad_jwt", f"{BAD_JWT}token has invalid claims: token is expired"
            ) from None
        except jwt.PyJWTError as error:
            raise AuthProblem(403, "bad_jwt", f"{BAD_JWT}{error}") from None

    def _authenticate(self, request: Request) -> tuple[SandboxUser, SandboxSession | None]:
        claims = self._claims(request)
        subject = claims.get("sub")
        if not subject:
            raise AuthProblem(403, "bad_jwt", "invalid claim: missing sub claim")
        try:
            uuid.UUID(str(subject))
        except ValueError:
            raise AuthProblem(400, "bad_jwt", "invalid claim: sub claim must be a UUID") from None
        user = self.users.get(str(subject))
        if user is None or user.deleted_at:
            raise AuthProblem(403, "user_not_found", "User from sub claim in JWT does not exist")
        session = None
        if claims.get("session_id"):
            session = self.sessions.get(str(claims["session_id"]))
            if session is None:
                raise AuthProblem(
                    403, "session_not_found", "Session from session_id claim in JWT does not exist"
                )
        return user, session

    def _issue_session(self, request: Request, user: SandboxUser) -> dict:
        now = _now()
        user.last_sign_in_at = now
        session = SandboxSession(id=str(uuid.uuid4()), user_id=user.id, created_at=now)
        self.sessions[session.id] = session
        return self._session_reply(request, user, session, self._new_refresh_token(session))

    def _new_refresh_token(self, session: SandboxSession) -> str:
        token = secrets.token_urlsafe(9)  # GoTrue's refresh tokens are short opaque strings
        self.refresh_tokens[token] = SandboxRefreshToken(token, session.id, time.time())
        session.active_refresh_token = token
        return token

    def _end_session(self, session_id: str) -> None:
        self.sessions.pop(session_id, None)
        for token in [t for t, r in self.refresh_tokens.items() if r.session_id == session_id]:
            del self.refresh_tokens[token]

    def _session_reply(
        self, request: Request, user: SandboxUser, session: SandboxSession, refresh: str
    ) -> dict:
        issued = int(time.time())
        expires_at = issued + self.access_token_seconds
        access = self._sign(
            {
                "iss": f"{str(request.base_url).rstrip('/')}/auth/v1",
                "sub": user.id,
                "aud": "authenticated",
                "exp": expires_at,
                "iat": issued,
                "email": user.email,
                "phone": "",
                "app_metadata": _app_metadata(),
                "user_metadata": self._user_metadata(user),
                "role": "authenticated",
                "aal": "aal1",
                "amr": [{"method": "password", "timestamp": issued}],
                "session_id": session.id,
                "is_anonymous": False,
            }
        )
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": self.access_token_seconds,
            "expires_at": expires_at,
            "refresh_token": refresh,
            "user": self._user_json(user),
        }

    def _user_metadata(self, user: SandboxUser) -> dict:
        confirmed = user.email_confirmed_at is not None
        return {
            **user.user_metadata,
            "email": user.email,
            "email_verified": confirmed,
            "phone_verified": False,
            "sub": user.id,
        }

    def _user_json(self, user: SandboxUser) -> dict:
        reply: dict[str, Any] = {
            "id": user.id,
            "aud": "authenticated",
            "role": "authenticated",
            "email": user.email,
            "email_confirmed_at": _stamp(user.email_confirmed_at),
            "phone": "",
            "confirmation_sent_at": _stamp(user.confirmation_sent_at),
            "confirmed_at": _stamp(user.email_confirmed_at),
            "last_sign_in_at": _stamp(user.last_sign_in_at),
            "app_metadata": _app_metadata(),
            "user_metadata": self._user_metadata(user),
            "identities": [
                {
                    "identity_id": user.identity_id,
                    "id": user.id,
                    "user_id": user.id,
                    "identity_data": {
                        "email": user.email,
                        "email_verified": user.email_confirmed_at is not None,
                        "phone_verified": False,
                        "sub": user.id,
                    },
                    "provider": "email",
                    "last_sign_in_at": _stamp(user.created_at),
                    "created_at": _stamp(user.created_at),
                    "updated_at": _stamp(user.updated_at),
                    "email": user.email,
                }
            ],
            "created_at": _stamp(user.created_at),
            "updated_at": _stamp(user.updated_at),
            "is_anonymous": False,
        }
        # GoTrue omits empty optional timestamps (`omitempty`).
        return {k: v for k, v in reply.items() if v is not None}

    def _obfuscated_user(self, email: str, data: dict) -> dict:
        now = _stamp(_now())
        return {
            "id": str(uuid.uuid4()),
            "aud": "authenticated",
            "role": "",
            "email": email,
            "phone": "",
            "confirmation_sent_at": now,
            "app_metadata": _app_metadata(),
            "user_metadata": data,
            "identities": [],
            "created_at": now,
            "updated_at": now,
            "is_anonymous": False,
        }


class _Gateway:
    """Supabase's API gateway in front of GoTrue: API keys, faults, error shapes."""

    def __init__(self, imitation: SupabaseAuthImitation, inner: ASGIApp) -> None:
        self.imitation = imitation
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        request = Request(scope, receive)
        self.imitation.requests.append((request.method, request.url.path))
        response = await self._gate(request)
        if response is None:
            with contextlib.suppress(ClientDisconnect):  # the caller gave up (timeouts): no one to answer
                await self.inner(scope, receive, send)
        else:
            await response(scope, receive, send)

    async def _gate(self, request: Request) -> Response | None:
        faults = self.imitation.faults
        path = request.url.path
        if faults.delay and faults.applies_to(path):
            await asyncio.sleep(faults.delay)
        key = request.headers.get("apikey") or request.query_params.get("apikey")
        if not key:
            return JSONResponse(
                {"message": "No API key found in request", "hint": NO_KEY_HINT},
                status_code=401,
            )
        known = (self.imitation.anon_key, self.imitation.service_role_key)
        if not any(hmac.compare_digest(key.encode(), k.encode()) for k in known):
            return JSONResponse(
                {"message": "Invalid API key", "hint": BAD_KEY_HINT},
                status_code=401,
            )
        if not faults.applies_to(path):
            return None
        if faults.malformed:
            return Response('{"access_token": "eyJ', status_code=200, media_type="application/json")
        if faults.status is not None:
            return _fault_response(request, faults.status)
        return None


def _fault_response(request: Request, status: int) -> Response:
    if status in (502, 503, 504):
        # The gateway's own answer when GoTrue is down: not GoTrue's error shape.
        return JSONResponse(
            {"message": "An invalid response was received from the upstream server"}, status_code=status
        )
    if status == 429:
        problem = AuthProblem(429, "over_request_rate_limit", "Request rate limit reached")
        return _problem_response(request, problem)
    if status >= 500:
        return _problem_response(
            request,
            AuthProblem(status, "unexpected_failure", UNEXPECTED_FAILURE),
        )
    return _problem_response(request, AuthProblem(status, "unknown", "Injected fault"))


def _problem_response(request: Request, problem: Exception) -> Response:
    """GoTrue's error body: the 2024-01-01 shape when the client asks for it, else the original."""
    assert isinstance(problem, AuthProblem)
    asked = request.headers.get(API_VERSION_HEADER, "")
    headers = {}
    if re.fullmatch(r"2\d{3}-\d{2}-\d{2}", asked) and asked >= API_VERSION_2024:
        headers[API_VERSION_HEADER] = API_VERSION_2024
        body: dict[str, Any] = {"code": problem.code, "message": problem.message}
    else:
        body = {"code": problem.status, "error_code": problem.code, "msg": problem.message}
    if problem.reasons is not None:
        body["weak_password"] = {"reasons": problem.reasons}
    return JSONResponse(body, status_code=problem.status, headers=headers)


async def _json_body(request: Request, *, allow_empty: bool = False) -> dict:
    raw = await request.body()
    if not raw.strip() and allow_empty:
        return {}
    try:
        parsed = json.loads(raw or b"null")
    except ValueError as error:
        raise AuthProblem(400, "bad_json", f"Could not parse request body as JSON: {error}") from None
    if not isinstance(parsed, dict):
        raise AuthProblem(400, "bad_json", "Could not parse request body as JSON: expected an object")
    return parsed


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 20_000)


def _password_matches(user: SandboxUser, password: str) -> bool:
    return hmac.compare_digest(user.password_hash, _hash(password, user.salt))


def _app_metadata() -> dict:
    return {"provider": "email", "providers": ["email"]}
