"""Media in an S3-compatible bucket (boto3 against moto's S3 server on loopback): stored there, handed
to its owner's browser as a presigned, expiring link after the app checked who asks, deleted with it."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import httpx

from assetry import security
from assetry.config import get_settings
from assetry.services import accounts, covers, media, studio
from assetry.state import generations
from assetry.web import routes, security_headers
from tests.account_setup import SignUp, create_account
from tests.jobs import run_jobs
from tests.object_storage import Bucket


async def _sign_up(email: str) -> tuple:
    form = SignUp(email=email, password="Correct-Horse-42", age_confirmed=True, accepted_policies=True)
    return await create_account(form, accounts.Client())


async def test_generated_files_live_in_the_bucket_and_reach_only_their_owner_presigned(
    database: str, s3_storage: Bucket
) -> None:
    user, token = await _sign_up("s3@example.com")
    _, other_token = await _sign_up("other@example.com")
    request = studio.StudioRequest(kind="image", prompt="a bucket of paint", model_key="offline:preview-image",
                                   aspect_ratio="1:1")  # fmt: skip
    started = await studio.start(user.id, request, client_request_id=str(uuid.uuid4()))
    await run_jobs()
    [output] = await studio.outputs_of(user.id, [started.id])
    stored = s3_storage.read(output.storage_key)
    assert stored.startswith(b"\x89PNG") and len(stored) == output.size_bytes
    # Its library cover is kept beside it, and the owner's card links to it in the bucket: the
    # browser reads those few kB from there, with no request to the app.
    cover = s3_storage.read(covers.key_of(output.storage_key))
    assert cover.startswith(b"RIFF") and len(cover) < len(stored) / 10
    [entry] = (await studio.library(user.id)).generations
    shown = generations.card(entry).cover_url
    # Beside it, the file's own signed link, which the browser takes if the cover is missing there.
    signed = security.read_media_token(
        media.signing_secret(get_settings()), generations.card(entry).file_url.removeprefix("/media/")
    )
    assert signed is not None and (signed["k"], signed["d"]) == (output.storage_key, 0)
    assert shown.startswith(f"{s3_storage.endpoint}/{s3_storage.name}/{covers.key_of(output.storage_key)}?")
    assert parse_qs(urlsplit(shown).query)["X-Amz-Expires"] == [str(get_settings().media_url_ttl_seconds)]
    async with httpx.AsyncClient() as browser:
        from_the_bucket = await browser.get(shown)
    assert from_the_bucket.status_code == 200 and from_the_bucket.content == cover
    assert from_the_bucket.headers["content-type"] == covers.CONTENT_TYPE

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=routes()), base_url="http://test") as app:
        for cookie in ("", other_token):  # no session, or someone else's: no link to the bucket at all
            refused = await app.get(media.url_for(output), cookies={accounts.SESSION_COOKIE: cookie})
            assert refused.status_code == 403 and "location" not in refused.headers
            assert "Log in to the account this file belongs to" in refused.text
        served = await app.get(media.url_for(output, download=True), cookies={accounts.SESSION_COOKIE: token})
    assert served.status_code == 302  # the bytes come from the bucket, not through the app
    link = served.headers["location"]
    assert link.startswith(f"{s3_storage.endpoint}/{s3_storage.name}/{output.storage_key}?")
    query = parse_qs(urlsplit(link).query)
    assert query["X-Amz-Expires"] == [str(get_settings().media_url_ttl_seconds)]
    async with httpx.AsyncClient() as browser:  # the browser follows it without any cookie of ours
        fetched = await browser.get(link)
        tampered = await browser.get(
            link.replace(output.storage_key, output.storage_key.replace("/0.", "/1."))
        )
    assert fetched.status_code == 200 and fetched.content == stored
    assert fetched.headers["content-type"] == "image/png"
    assert fetched.headers["content-disposition"].startswith('attachment; filename="assetry-')
    assert tampered.status_code == 403  # a link names one file: its signature covers the key

    # The page's content security policy lets images and videos come from the bucket.
    csp = security_headers(get_settings())["content-security-policy"]
    assert f"img-src 'self' data: blob: {s3_storage.endpoint};" in csp
    assert f"media-src 'self' blob: {s3_storage.endpoint};" in csp

    await studio.delete(user.id, started.id)
    assert s3_storage.keys(str(user.id)) == []  # the file and its cover
