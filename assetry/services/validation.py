"""Checks on what people type, each failing with a message that says what to do."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from assetry.errors import BadInput

EMAIL_MAX = 254
PASSWORD_MIN = 10
PASSWORD_MAX = 128
_COMMON_PASSWORDS = frozenset(
    {
        "password", "password1", "password123", "passw0rd", "123456789", "1234567890",
        "qwertyuiop", "iloveyou", "letmein123", "welcome123", "admin12345", "qwerty123",
        "abc1234567", "football123", "monkey1234", "dragon1234", "sunshine12",
    }
)  # fmt: skip


def clean_email(raw: str) -> str:
    """A syntactically valid, normalised email address (no DNS lookups)."""
    raw = (raw or "").strip()
    if not raw:
        raise BadInput("Enter your email address.")
    if len(raw) > EMAIL_MAX:
        raise BadInput(f"That email address is longer than {EMAIL_MAX} characters.")
    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as error:
        raise BadInput(f"That email address doesn't look right: {error}") from None
    return result.normalized.lower()


def clean_text(raw: str, *, field: str, max_length: int, required: bool = True) -> str:
    """Trimmed text within its length limit (stored as typed; pages render it escaped)."""
    text = (raw or "").strip()
    if required and not text:
        raise BadInput(f"Please fill in the {field}.")
    if len(text) > max_length:
        raise BadInput(
            f"The {field} is {len(text):,} characters; the limit is {max_length:,}. "
            "Shorten it and send again."
        )
    return text


def password_problem(password: str, email: str = "") -> str | None:
    """Why a new password is too weak, or None when it is strong enough."""
    if len(password) < PASSWORD_MIN:
        return f"Use at least {PASSWORD_MIN} characters."
    if len(password) > PASSWORD_MAX:
        return f"Use at most {PASSWORD_MAX} characters."
    lowered = password.lower()
    if lowered in _COMMON_PASSWORDS or len(set(lowered)) < 4:
        return "That password is too common or too repetitive; pick something less guessable."
    local_part = email.split("@", 1)[0].lower()
    if len(local_part) >= 4 and local_part in lowered:
        return "Don't build your password from your email address."
    kinds = sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    if kinds < 3 and len(password) < 16:
        return "Mix at least three of: lower case, upper case, digits, symbols — or use 16+ characters."
    return None
