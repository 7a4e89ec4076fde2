"""The project's own exceptions. Pages show `str(error)` of the user-facing ones.

- `BadInput`: the user can fix it (malformed email, weak password, too long).
- `NotAllowed`: the caller may not do this (signed out, another user's data, throttled).
- `RateLimited`, `AuthExpired`, `ProviderError`: an external system said no; integrations
  map their wire errors to these.
"""


class AssetryError(Exception):
    """Base of every error the project raises on purpose."""


class BadInput(AssetryError):
    """Input the user can correct; the message says how."""


class NotAllowed(AssetryError):
    """The caller is not allowed to do this; the message is safe to show."""


class RateLimited(AssetryError):
    """Too many requests; try again after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthExpired(AssetryError):
    """A credential with an external system is no longer valid."""


class ProviderError(AssetryError):
    """An external system failed or answered something we cannot use."""


class EmailNotConfirmed(NotAllowed):
    """The password is right, but the account waits for the link emailed at sign-up."""

    def __init__(self) -> None:
        super().__init__("Confirm your email first — we sent you a link. Open it, then log in.")
