"""Data exports in object storage (moto's S3 server on loopback, spoken to by boto3): the archive is
streamed into the bucket, handed to its owner only as a presigned link after the app checked who
asks, never offered half-written when the storage fails, and gone with the account."""

from __future__ import annotations

import asyncio
import io
import random
import uuid
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy as sa

from assetry import db
from assetry.config import get_settings
from assetry.integrations import storage
from assetry.integrations.storage import export_key
from assetry.models import DataExport, Generation, GenerationOutput
from assetry.models.base import utcnow
from assetry.models.runs import FAILED, RUNNING, SUCCEEDED
from assetry.services import accounts, media, privacy
from assetry.web import routes
from tests.account_setup import SignUp, create_account
from tests.jobs import engine_jobs, make_due, run_jobs
from tests.object_storage import Bucket, CuttableLink, client, new_bucket, storage_settings

PASSWORD = "Correct-Horse-42"


async def sign_up(email: str) -> tuple:
    form = SignUp(email=email, password=PASSWORD, age_confirmed=True, accepted_policies=True)
    return await create_account(form, accounts.Client())


async def add_video(user_id: uuid.UUID, content: bytes) -> str:
    """A generated video of `content` in the store, with its library rows; returns its key."""
    generation_id = uuid.uuid4()
    key = media.key_for(user_id, generation_id, 0, "video/mp4")
    await media.store().put(key, content, "video/mp4")
    async with db.service_session() as session:
        session.add(Generation(id=generation_id, user_id=user_id, kind="video", prompt="waves at dusk",
                               provider="offline", model="offline-video", status=SUCCEEDED))  # fmt: skip
        await session.flush()
        session.add(GenerationOutput(user_id=user_id, generation_id=generation_id, position=0, storage_key=key,
                                     content_type="video/mp4", size_bytes=len(content)))  # fmt: skip
    return key


async def export_row(export_id: uuid.UUID) -> DataExport:
    async with db.service_session() as session:
        return await session.get(DataExport, export_id)


def app_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=routes()), base_url="http://test")


async def test_the_archive_is_stored_in_the_bucket_and_only_its_owner_gets_a_presigned_link(
    database: str, s3_storage: Bucket
) -> None:
    maya, maya_token = await sign_up("maya@example.com")
    _, theo_token = await sign_up("theo@example.com")
    videos = {await add_video(maya.id, random.randbytes(300_000 + n)): n for n in range(3)}

    # Two clicks at once: one export, one job, one archive.
    first, second = await asyncio.gather(privacy.request_export(maya.id), privacy.request_export(maya.id))
    assert first.id == second.id and len(await engine_jobs(privacy.EXPORT_KIND)) == 1
    await run_jobs()
    assert s3_storage.keys(f"{maya.id}/exports/") == [export_key(maya.id, first.id)]
    archive = s3_storage.read(export_key(maya.id, first.id))
    assert (await export_row(first.id)).size_bytes == len(archive)
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        assert zf.testzip() is None
        for key in videos:
            entry = zf.getinfo("media/" + key.split("/", 1)[1])
            assert entry.compress_type == zipfile.ZIP_STORED  # video is compressed already: stored
            assert zf.read(entry) == s3_storage.read(key)
        assert "account.json" in zf.namelist()

    status = await privacy.latest_export(maya.id)
    assert status.status == SUCCEEDED and status.download_url.startswith("/exports/")
    async with app_client() as app:
        for cookie in ("", theo_token):  # signed out, or another user: refused, no link to the bucket
            refused = await app.get(status.download_url, cookies={accounts.SESSION_COOKIE: cookie})
            assert refused.status_code == 403 and "location" not in refused.headers
            assert "Log in to the account this export belongs to" in refused.text
        answer = await app.get(status.download_url, cookies={accounts.SESSION_COOKIE: maya_token})
        expired = privacy.export_link(first.id, maya.id, utcnow() - timedelta(seconds=1))
        too_late = await app.get(expired, cookies={accounts.SESSION_COOKIE: maya_token})
    assert answer.status_code == 302 and answer.headers["cache-control"] == "private, no-store"
    link = answer.headers["location"]
    assert link.startswith(f"{s3_storage.endpoint}/{s3_storage.name}/{export_key(maya.id, first.id)}?")
    assert parse_qs(urlsplit(link).query)["X-Amz-Expires"] == [str(privacy.EXPORT_LINK_SECONDS)]
    async with httpx.AsyncClient() as browser:
        download = await browser.get(link)
    assert download.status_code == 200 and download.content == archive
    assert download.headers["content-type"] == "application/zip"
    assert download.headers["content-disposition"].startswith('attachment; filename="assetry-export-')
    # An app link past its time: the app's own message, never a bucket's error page.
    assert too_late.status_code == 404 and too_late.text == privacy.EXPORT_GONE

    # After its 7 days the retention job deletes the archive from the bucket; the media stay.
    assert await privacy.delete_expired_exports(now=utcnow() + timedelta(days=8)) == 1
    assert s3_storage.keys(str(maya.id)) == sorted(videos)
    assert (await privacy.latest_export(maya.id)).status == "expired"


@pytest.fixture
def cuttable_storage(
    s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Bucket, CuttableLink]]:
    """The app's storage reached through a link the test can cut; the test reads the bucket directly."""
    bucket = new_bucket(s3_endpoint)
    link = CuttableLink(urlsplit(s3_endpoint).port)
    for name, value in storage_settings(link.endpoint, bucket.name).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(storage, "PART_BYTES", 5 * 1024 * 1024)  # S3's smallest part: a 12 MB archive has 3
    get_settings.cache_clear()
    yield bucket, link
    link.close()
    get_settings.cache_clear()


async def test_storage_failing_mid_export_offers_nothing_and_a_new_export_works(
    database: str, cuttable_storage: tuple[Bucket, CuttableLink]
) -> None:
    bucket, link = cuttable_storage
    maya, _ = await sign_up("maya@example.com")
    keys = [await add_video(maya.id, random.randbytes(6 * 1024 * 1024)) for _ in range(2)]
    archive_prefix = f"{maya.id}/exports/"

    link.cut_after(7 * 1024 * 1024)  # the first part goes up; the storage vanishes during the second
    failed = await privacy.request_export(maya.id)
    await run_jobs()
    assert link.is_cut
    row = await export_row(failed.id)
    assert (row.status, row.phase) == (RUNNING, "The file storage did not answer; trying again")
    # Nothing half-written is visible, and nothing is offered.
    assert bucket.keys(archive_prefix) == []
    assert bucket.unfinished_uploads(archive_prefix) == [export_key(maya.id, failed.id)]
    assert (await privacy.latest_export(maya.id)).download_url == ""

    for _ in range(2):  # its retries meet the storage still down: then it fails, saying why
        await make_due()
        await run_jobs()
    [job] = await engine_jobs(privacy.EXPORT_KIND)
    assert job.status == "failed" and job.attempts == 3
    status = await privacy.latest_export(maya.id)
    assert (status.status, status.error, status.download_url) == (FAILED, privacy.EXPORT_STORAGE_DOWN, "")
    assert bucket.keys(archive_prefix) == []

    link.heal()  # the storage is back: the creator starts a new export, and it is whole
    again = await privacy.request_export(maya.id)
    assert again.id != failed.id
    await run_jobs()
    assert (await privacy.latest_export(maya.id)).status == SUCCEEDED
    assert bucket.keys(archive_prefix) == [export_key(maya.id, again.id)]
    with zipfile.ZipFile(io.BytesIO(bucket.read(export_key(maya.id, again.id)))) as zf:
        assert zf.testzip() is None
        assert [zf.read("media/" + key.split("/", 1)[1]) == bucket.read(key) for key in keys] == [True, True]


async def test_deleting_the_account_leaves_no_object_of_it_in_the_bucket(
    database: str, s3_storage: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DELETION_GRACE_DAYS", "0")
    get_settings.cache_clear()
    maya, _ = await sign_up("maya@example.com")
    theo, _ = await sign_up("theo@example.com")
    for person in (maya, theo):
        await add_video(person.id, random.randbytes(50_000))
        await privacy.request_export(person.id)
    await run_jobs()
    # An upload of hers that never finished (a worker killed mid-export) holds parts too.
    unfinished = client(s3_storage.endpoint).create_multipart_upload(
        Bucket=s3_storage.name, Key=export_key(maya.id, uuid.uuid4())
    )
    assert unfinished["UploadId"] and len(s3_storage.keys(str(maya.id))) == 2
    theirs = s3_storage.keys(str(theo.id))
    assert len(theirs) == 2

    await privacy.request_deletion(maya.id, PASSWORD)
    await run_jobs()
    [purge] = await engine_jobs(privacy.PURGE_KIND)
    assert purge.status == "succeeded"
    assert s3_storage.keys(str(maya.id)) == [] and s3_storage.unfinished_uploads(str(maya.id)) == []
    assert s3_storage.keys(str(theo.id)) == theirs
    async with db.service_session() as session:
        left = await session.scalar(sa.select(sa.func.count()).select_from(DataExport))
    assert left == 1  # theo's
