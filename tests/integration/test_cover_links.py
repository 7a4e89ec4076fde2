"""A cover's link reads the same for its whole period, so the browser keeps the file it fetched
for every later library page that shows it; the link still expires, and still serves only its
owner's live session. Serving it is one statement."""

from __future__ import annotations

import time

from assetry import security
from assetry.config import get_settings, signing_secret
from assetry.services import accounts, media, studio
from tests.integration.test_studio import image, media_get, new_user, outputs, run_all
from tests.integration.test_watching import QueryCounter


def _signed_at(monkeypatch, moment: int, output) -> str:
    monkeypatch.setattr(media.time, "time", lambda: moment)
    return media.url_for(output)


async def test_a_cover_link_is_the_same_all_period_expires_after_it_and_serves_its_owner_only(
    database: str, monkeypatch
) -> None:
    owner, owner_token = await new_user("ana@example.com")
    _, other_token = await new_user("ben@example.com")
    started = await studio.start(owner, image(), client_request_id="c")
    await run_all()
    [output] = await outputs(started.id)
    period = get_settings().media_url_ttl_seconds
    start = int(time.time()) // period * period  # this period, which began at most `period` ago

    early, late = (_signed_at(monkeypatch, start + s, output) for s in (1, period - 1))
    following = _signed_at(monkeypatch, start + period, output)
    expires = security.read_media_token(signing_secret(get_settings()), early.removeprefix("/media/"))["e"]

    assert early == late != following
    assert expires == start + 2 * period  # at least a whole period from whenever it was signed
    monkeypatch.setattr(media.time, "time", lambda: start + 10)
    served = await media_get(early, owner_token)
    assert served.status_code == 200
    # The browser keeps it until the link expires.
    assert served.headers["cache-control"] == f"private, max-age={2 * period - 10}"
    assert (await media_get(early, other_token)).status_code == 403
    assert (await media_get(early, "")).status_code == 403
    await accounts.log_out(owner_token)
    assert (await media_get(early, owner_token)).status_code == 403
    # Past its expiry (the real clock moved on), the same text is refused.
    monkeypatch.setattr(security.time, "time", lambda: expires + 1)
    _, token = await new_user("cleo@example.com")
    assert (await media_get(early, token)).status_code == 404


async def test_serving_a_cover_is_one_statement_and_a_deleted_one_says_so(database: str) -> None:
    owner, token = await new_user("ana@example.com")
    started = await studio.start(owner, image(), client_request_id="c")
    await run_all()
    [output] = await outputs(started.id)
    url = media.url_for(output)
    await media_get(url, token)  # the engines' first connection, set up once

    with QueryCounter() as served:
        assert (await media_get(url, token)).status_code == 200
    await studio.delete(owner, started.id)
    gone = await media_get(url, token)

    assert served.count == 1, served.sent
    assert gone.status_code == 404 and "deleted" in gone.text
