"""Security headers on every response."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.testclient import TestClient

from assetry.config import Settings
from assetry.web import loopback_alias_redirect, pages_at_their_own_path, security_headers


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


def _moved(
    public_url: str, host: str, path: str = "/login?next=%2Fstudio", scheme: str = "http"
) -> str | None:
    return loopback_alias_redirect(Settings(_env_file=None, public_url=public_url), scheme, host, path)


def test_a_loopback_alias_of_a_local_public_url_moves_to_it_with_its_path() -> None:
    assert _moved("http://localhost:3000", "127.0.0.1:3000") == "http://localhost:3000/login?next=%2Fstudio"
    assert _moved("http://localhost:3000", "[::1]:3000", "/") == "http://localhost:3000/"
    assert _moved("http://127.0.0.1:3000", "localhost:3000", "/home") == "http://127.0.0.1:3000/home"
    assert _moved("http://localhost", "127.0.0.1", "/home") == "http://localhost/home"
    assert _moved("http://localhost:80", "127.0.0.1", "/home") == "http://localhost:80/home"


def test_the_public_origin_itself_is_served_where_it_is() -> None:
    assert _moved("http://localhost:3000", "localhost:3000") is None


def test_only_the_same_scheme_and_port_and_only_loopback_names_move() -> None:
    assert _moved("http://localhost:3000", "127.0.0.1:3001") is None
    assert _moved("http://localhost:3000", "127.0.0.1:3000", scheme="https") is None
    assert _moved("http://localhost:3000", "192.168.1.20:3000") is None
    assert _moved("http://localhost:3000", "evil.example:3000") is None
    assert _moved("http://localhost:3000", "127.0.0.1:not-a-port") is None


def test_a_public_url_on_a_real_host_is_never_widened() -> None:
    assert _moved("https://assetry.cc", "localhost", scheme="https") is None
    assert _moved("https://assetry.cc", "127.0.0.1:443", scheme="https") is None
    assert _moved("http://192.168.1.20:3000", "127.0.0.1:3000") is None


def test_the_redirect_stays_on_the_app() -> None:
    # A path that a browser would read as another host goes to the home page instead.
    assert _moved("http://localhost:3000", "127.0.0.1:3000", "//evil.example/x") == "http://localhost:3000/"


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


def test_a_page_opened_without_its_slash_is_served_there_not_redirected(tmp_path: Path) -> None:
    (tmp_path / "login").mkdir()
    (tmp_path / "login" / "index.html").write_text("<title>Log in</title>")
    (tmp_path / "index.html").write_text("<title>Landing</title>")
    (tmp_path / "text_links.css").write_text("a {}")
    build = Starlette(routes=[Mount("/", StaticFiles(directory=tmp_path, html=True))])
    served = pages_at_their_own_path(build, static=tmp_path)
    client = TestClient(served, follow_redirects=False)

    for path in ("/login", "/login/"):
        reply = client.get(path)
        assert (reply.status_code, reply.text) == (200, "<title>Log in</title>"), path
    assert client.get("/").text == "<title>Landing</title>"
    assert client.get("/text_links.css").text == "a {}"
    assert client.get("/signup").status_code == 404  # not a page of the build: left to the server
