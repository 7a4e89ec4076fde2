"""Media in an S3-compatible bucket (boto3 against moto's S3 server on loopback): store, serve, delete."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from assetry.config import get_settings
from assetry.services import accounts, media, studio
from assetry.web import routes
from tests.account_setup import SignUp, create_account
from tests.asgi_server import free_port
from tests.jobs import run_jobs

BUCKET = "assetry-media-test"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="k", aws_secret_access_key="s",
                 region_name="us-east-1").create_bucket(Bucket=BUCKET)  # fmt: skip
    yield endpoint
    server.stop()


@pytest.fixture
def s3_media(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    for name, value in {"MEDIA_S3_ENDPOINT": s3_endpoint, "MEDIA_S3_BUCKET": BUCKET, "MEDIA_S3_ACCESS_KEY": "k",
                        "MEDIA_S3_SECRET_KEY": "s"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return s3_endpoint


async def test_generated_files_live_in_the_bucket_and_are_served_signed(database: str, s3_media: str) -> None:
    form = SignUp(email="s3@example.com", password="Correct-Horse-42", age_confirmed=True,
                           accepted_policies=True)  # fmt: skip
    user, token = await create_account(form, accounts.Client())
    request = studio.StudioRequest(kind="image", prompt="a bucket of paint", model_key="offline:preview-image",
                                   aspect_ratio="1:1")  # fmt: skip
    started = await studio.start(user.id, request, client_request_id=str(uuid.uuid4()))
    await run_jobs()
    [output] = await studio.outputs_of(user.id, [started.id])
    bucket = boto3.client("s3", endpoint_url=s3_media, aws_access_key_id="k", aws_secret_access_key="s",
                          region_name="us-east-1")  # fmt: skip
    stored = bucket.get_object(Bucket=BUCKET, Key=output.storage_key)["Body"].read()
    assert stored.startswith(b"\x89PNG") and len(stored) == output.size_bytes
    transport = httpx.ASGITransport(app=routes())
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", cookies={accounts.SESSION_COOKIE: token}
    ) as client:
        served = await client.get(media.url_for(output))
    assert served.status_code == 200 and served.content == stored
    await studio.delete(user.id, started.id)
    assert bucket.list_objects_v2(Bucket=BUCKET, Prefix=str(user.id)).get("KeyCount", 0) == 0
