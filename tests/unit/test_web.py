"""Security headers on every response."""

from __future__ import annotations

from assetry.config import Settings
from assetry.web import security_headers


def _headers(public_url: str) -> dict[str, str]:
    return security_headers(Settings(_env_file=None, public_url=public_url))


def test_hsts_only_when_served_over_https() -> None:
    assert _headers("https://assetry.cc")["strict-transport-security"].startswith("max-age=")
    assert "strict-transport-security" not in _headers("http://localhost:3000")


def test_csp_forbids_framing_and_plugins_and_allows_only_our_websocket() -> None:
    headers = _headers("https://assetry.cc")
    csp = [part.strip() for part in headers["content-security-policy"].split(";")]
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert "connect-src 'self' wss://assetry.cc" in csp
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"


def test_csp_lets_the_page_reach_no_origin_but_our_own() -> None:
    """No ad, analytics or other third-party host may load scripts, frames, images or set cookies."""
    csp = _headers("https://assetry.cc")["content-security-policy"]
    directives = {}
    for part in csp.split(";"):
        name, *sources = part.split()
        directives[name] = set(sources)
    own = {"'self'", "'none'", "'unsafe-inline'", "'unsafe-eval'", "data:", "blob:", "wss://assetry.cc"}
    foreign = {name: sources - own for name, sources in directives.items() if sources - own}
    assert foreign == {}
    assert directives["default-src"] == {"'self'"}
    assert directives["connect-src"] == {"'self'", "wss://assetry.cc"}
