"""The fal.ai integration, through the real fal-client SDK, against the imitation served over TLS.

The imitation runs under uvicorn on a free 127.0.0.1 port with a certificate from a
throwaway `trustme` CA; only the provider under test trusts that CA (no SSL_CERT_FILE,
no FAL_* variables). Result files are said to live on https://localhost:<port>, another
origin, as fal's CDN is another host.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from assetry.errors import AuthExpired, BadInput, ProviderError, RateLimited
from assetry.integrations.fal import FalProvider
from assetry.integrations.generation import ImageRequest, MediaFile, QueueStatus, VideoRequest
from assetry.sandbox.fal import DEFAULT_KEY, FalImitation
from tests.integration.servers import Served

IMAGE_MODEL = "fal-ai/flux/schnell"
VIDEO_MODEL = "fal-ai/veo3/fast"
MAX_BYTES = 50_000_000


@pytest.fixture
def imitation(served: Served) -> FalImitation:
    served.imitation.reset()
    return served.imitation


@pytest.fixture
async def fal(served: Served, imitation: FalImitation) -> AsyncIterator[FalProvider]:
    async with provider(served) as client:
        yield client


def provider(served: Served, *, key: str = DEFAULT_KEY, timeout_s: float = 3.0) -> FalProvider:
    return FalProvider(key=key, queue_url=served.url, timeout_s=timeout_s, verify=served.trust)


async def poll_until_done(fal: FalProvider, model: str, request_id: str) -> list[QueueStatus]:
    seen = []
    for _ in range(20):
        seen.append(await fal.status(model, request_id))
        if seen[-1].state == "COMPLETED":
            return seen
    raise AssertionError(f"never completed: {seen}")


# ----- happy paths -----------------------------------------------------------


async def test_images_are_generated_and_downloaded(fal: FalProvider, imitation: FalImitation) -> None:
    request = ImageRequest(
        prompt="  a neon cat on a skateboard ", model=IMAGE_MODEL, aspect_ratio="9:16", count=2, seed=42
    )
    request_id = await fal.submit_image(request)

    assert imitation.submissions == [
        (
            IMAGE_MODEL,
            {
                "prompt": "a neon cat on a skateboard",
                "image_size": {"width": 720, "height": 1280},
                "num_images": 2,
                "enable_safety_checker": True,
                "seed": 42,
            },
        )
    ]
    statuses = await poll_until_done(fal, IMAGE_MODEL, request_id)
    assert statuses == [
        QueueStatus(state="IN_QUEUE", position=0),
        QueueStatus(state="IN_PROGRESS", logs=["Generating, step 1"]),
        QueueStatus(state="COMPLETED", logs=["Generating, step 1"]),
    ]
    # Status lives under the app's root, without the /schnell sub-path, as on fal.
    assert ("status", f"/fal-ai/flux/requests/{request_id}/status") in imitation.calls

    output = await fal.result(IMAGE_MODEL, request_id)
    assert output.seed == 42
    assert len(output.urls) == 2
    assert all(url.startswith("https://localhost:") for url in output.urls)

    files = [await fal.download(url, MAX_BYTES) for url in output.urls]
    assert [(f.content_type, f.width, f.height) for f in files] == [("image/png", 720, 1280)] * 2
    assert files[0].content.startswith(b"\x89PNG\r\n\x1a\n")
    assert files[0].content != files[1].content
    # The key goes to the queue only, never to the file host.
    assert imitation.file_authorizations == [None, None]
    assert imitation.count("submit") == 1


async def test_a_video_is_generated_and_downloaded(fal: FalProvider, imitation: FalImitation) -> None:
    request_id = await fal.submit_video(
        VideoRequest(
            prompt="sunrise over a city, drone shot",
            model=VIDEO_MODEL,
            aspect_ratio="9:16",
            duration_s=6,
            audio=False,
        )
    )

    sent = {"prompt": "sunrise over a city, drone shot", "aspect_ratio": "9:16", "duration": "6s"}
    assert imitation.submissions == [(VIDEO_MODEL, sent | {"generate_audio": False})]
    await poll_until_done(fal, VIDEO_MODEL, request_id)
    output = await fal.result(VIDEO_MODEL, request_id)
    assert len(output.urls) == 1
    assert output.urls[0].endswith(".mp4")

    video = await fal.download(output.urls[0], MAX_BYTES)
    assert isinstance(video, MediaFile)
    assert (video.content_type, video.width, video.height) == ("video/mp4", 72, 128)
    assert video.duration_s == pytest.approx(6, abs=0.5)
    assert video.content[4:8] == b"ftyp"


async def test_the_duration_is_written_as_the_model_wants_it(served: Served, imitation: FalImitation) -> None:
    """veo3 fast takes "6s"; written as a bare "6" fal refuses it with its own validation message."""
    async with FalProvider(
        key=DEFAULT_KEY, queue_url=served.url, verify=served.trust, video_duration_format="{seconds}"
    ) as bare:
        with pytest.raises(BadInput, match="Input should be '4s', '6s' or '8s'"):
            await bare.submit_video(VideoRequest(prompt="a paper boat", model=VIDEO_MODEL, duration_s=6))
    assert imitation.submissions == []


# ----- resuming and cancelling ----------------------------------------------------


async def test_a_restart_resumes_with_the_stored_request_id_without_submitting_again(
    served: Served, imitation: FalImitation
) -> None:
    async with provider(served) as before_restart:
        request_id = await before_restart.submit_video(
            VideoRequest(prompt="waves", model=VIDEO_MODEL, duration_s=4)
        )
        assert (await before_restart.status(VIDEO_MODEL, request_id)).state == "IN_QUEUE"

    async with provider(served) as after_restart:
        await poll_until_done(after_restart, VIDEO_MODEL, request_id)
        output = await after_restart.result(VIDEO_MODEL, request_id)
        video = await after_restart.download(output.urls[0], MAX_BYTES)

    assert video.content_type == "video/mp4"
    assert imitation.count("submit") == 1
    assert len(imitation.submissions) == 1


async def test_cancel_drops_a_queued_request(fal: FalProvider, imitation: FalImitation) -> None:
    request_id = await fal.submit_video(VideoRequest(prompt="a long take", model=VIDEO_MODEL, duration_s=8))

    assert await fal.cancel(VIDEO_MODEL, request_id) is True
    with pytest.raises(ProviderError, match="could not finish this generation: Request was cancelled"):
        await fal.status(VIDEO_MODEL, request_id)
    assert await fal.cancel(VIDEO_MODEL, request_id) is False
    assert imitation.count("cancel") == 2


async def test_cancelling_a_finished_request_says_so(fal: FalProvider) -> None:
    request_id = await fal.submit_image(ImageRequest(prompt="a lemon", model=IMAGE_MODEL))
    await poll_until_done(fal, IMAGE_MODEL, request_id)

    assert await fal.cancel(IMAGE_MODEL, request_id) is False
    assert (await fal.result(IMAGE_MODEL, request_id)).urls


# ----- bad input ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (ImageRequest(prompt="   ", model=IMAGE_MODEL), "Write a prompt first."),
        (ImageRequest(prompt="cats", model=IMAGE_MODEL, count=5), "Ask for 1 to 4 images at a time."),
        (ImageRequest(prompt="cats", model="flux"), "'flux' is not a fal.ai model id"),
        (VideoRequest(prompt="cats", model=VIDEO_MODEL, duration_s=0), "A video lasts 1 to 60 seconds."),
    ],
)
async def test_bad_input_is_refused_before_anything_is_sent(
    fal: FalProvider, imitation: FalImitation, request_, message: str
) -> None:
    submit = fal.submit_image if isinstance(request_, ImageRequest) else fal.submit_video
    with pytest.raises(BadInput, match=message):
        await submit(request_)
    assert imitation.calls == []


async def test_input_fal_refuses_comes_back_with_its_reason(
    fal: FalProvider, imitation: FalImitation
) -> None:
    with pytest.raises(BadInput) as refused:
        await fal.submit_image(ImageRequest(prompt="[refuse] something", model=IMAGE_MODEL))
    assert (
        str(refused.value)
        == "fal.ai refused the request: prompt: The prompt was flagged by the content checker."
    )
    assert imitation.submissions == []


async def test_images_held_back_by_the_safety_checker_ask_for_another_prompt(fal: FalProvider) -> None:
    request_id = await fal.submit_image(ImageRequest(prompt="[nsfw] something", model=IMAGE_MODEL, count=2))
    await poll_until_done(fal, IMAGE_MODEL, request_id)

    with pytest.raises(BadInput) as refused:
        await fal.result(IMAGE_MODEL, request_id)
    assert str(refused.value) == "fal.ai's safety checker held back every image. Try a different prompt."


async def test_a_request_id_that_is_not_one_is_refused(fal: FalProvider, imitation: FalImitation) -> None:
    with pytest.raises(BadInput) as refused:
        await fal.status(IMAGE_MODEL, "../../admin")
    assert str(refused.value) == "That is not a fal.ai request id."
    assert imitation.calls == []


async def test_an_unknown_request_is_a_provider_error(fal: FalProvider) -> None:
    with pytest.raises(ProviderError, match=r"fal.ai does not know this request \(404\)."):
        await fal.status(IMAGE_MODEL, "0b5e4a4e-0000-4000-8000-000000000000")


# ----- faults ---------------------------------------------------------------------


async def test_a_wrong_key_asks_to_check_fal_key(served: Served, imitation: FalImitation) -> None:
    async with provider(served, key="not-the-key") as wrong:
        with pytest.raises(AuthExpired) as refused:
            await wrong.submit_image(ImageRequest(prompt="cats", model=IMAGE_MODEL))
        assert str(refused.value) == "fal.ai refused the API key (401): check FAL_KEY."
        with pytest.raises(AuthExpired, match="check FAL_KEY"):
            await wrong.status(IMAGE_MODEL, "0b5e4a4e-0000-4000-8000-000000000000")
    assert imitation.submissions == []


def test_a_missing_key_means_fal_is_not_configured(served: Served) -> None:
    with pytest.raises(AuthExpired) as refused:
        FalProvider(key="", queue_url=served.url)
    assert str(refused.value) == "fal.ai is not configured: set FAL_KEY."


async def test_429_is_rate_limited_with_retry_after_and_not_retried(
    fal: FalProvider, imitation: FalImitation
) -> None:
    imitation.faults.rate_limited = 1
    imitation.faults.retry_after = 7

    with pytest.raises(RateLimited) as limited:
        await fal.submit_image(ImageRequest(prompt="cats", model=IMAGE_MODEL))

    assert limited.value.retry_after == 7
    assert str(limited.value) == "fal.ai is rate limiting this key. Try again in 7 s."
    assert imitation.count("submit") == 1
    assert imitation.submissions == []


async def test_429_while_polling_is_rate_limited(fal: FalProvider, imitation: FalImitation) -> None:
    request_id = await fal.submit_image(ImageRequest(prompt="cats", model=IMAGE_MODEL))
    imitation.faults.rate_limited = 1
    imitation.faults.retry_after = 3

    with pytest.raises(RateLimited) as limited:
        await fal.status(IMAGE_MODEL, request_id)
    assert limited.value.retry_after == 3
    assert str(limited.value) == "fal.ai is rate limiting this key. Try again in 3 s."
    # Once the limit passes, polling the same request goes on.
    assert (await fal.status(IMAGE_MODEL, request_id)).state == "IN_QUEUE"


@pytest.mark.parametrize("endpoint", ["submit", "status"])
async def test_a_server_error_is_a_provider_error(
    fal: FalProvider, imitation: FalImitation, endpoint: str
) -> None:
    request_id = await fal.submit_image(ImageRequest(prompt="cats", model=IMAGE_MODEL))
    imitation.faults.server_errors = 1
    imitation.faults.only = endpoint

    with pytest.raises(ProviderError) as failed:
        if endpoint == "submit":
            await fal.submit_image(ImageRequest(prompt="dogs", model=IMAGE_MODEL))
        else:
            await fal.status(IMAGE_MODEL, request_id)

    assert str(failed.value) == "fal.ai had a server error (500). Try again in a few minutes."
    assert len(imitation.submissions) == 1


async def test_a_slow_submit_times_out_and_is_never_sent_twice(
    served: Served, imitation: FalImitation
) -> None:
    imitation.faults.slow_s = 2.5
    imitation.faults.only = "submit"

    async with provider(served, timeout_s=0.5) as fal:
        with pytest.raises(ProviderError) as failed:
            await fal.submit_video(VideoRequest(prompt="waves", model=VIDEO_MODEL, duration_s=4))

    assert str(failed.value) == (
        "fal.ai did not answer within 0.5 s. The request was not sent again (it may still run on fal.ai)."
    )
    # fal queued it; the SDK's own retry would have queued (and billed) it again.
    assert imitation.count("submit") == 1
    assert len(imitation.submissions) == 1


async def test_a_dropped_submit_reply_is_never_sent_twice(fal: FalProvider, imitation: FalImitation) -> None:
    imitation.faults.dropped_replies = 1
    imitation.faults.only = "submit"

    with pytest.raises(ProviderError) as failed:
        await fal.submit_image(ImageRequest(prompt="cats", model=IMAGE_MODEL))

    assert str(failed.value) == (
        "fal.ai dropped the connection before confirming the request (RemoteProtocolError). "
        "The request was not sent again (it may still run on fal.ai)."
    )
    assert imitation.count("submit") == 1
    assert len(imitation.submissions) == 1


async def test_a_dropped_status_reply_is_simply_asked_again(
    fal: FalProvider, imitation: FalImitation
) -> None:
    request_id = await fal.submit_image(ImageRequest(prompt="cats", model=IMAGE_MODEL))
    imitation.faults.dropped_replies = 1
    imitation.faults.only = "status"

    assert await fal.status(IMAGE_MODEL, request_id) == QueueStatus(state="IN_QUEUE", position=0)
    assert imitation.count("status") == 2


async def test_a_slow_status_times_out(served: Served, imitation: FalImitation) -> None:
    async with provider(served, timeout_s=0.5) as fal:
        request_id = await fal.submit_image(ImageRequest(prompt="cats", model=IMAGE_MODEL))
        imitation.faults.slow_s = 2.5
        imitation.faults.only = "status"
        with pytest.raises(ProviderError) as failed:
            await fal.status(IMAGE_MODEL, request_id)
    assert str(failed.value) == "fal.ai did not answer within 0.5 s."


async def test_a_malformed_submit_reply_is_a_provider_error_and_not_resubmitted(
    fal: FalProvider, imitation: FalImitation
) -> None:
    imitation.faults.malformed = 1
    imitation.faults.only = "submit"

    with pytest.raises(ProviderError) as failed:
        await fal.submit_image(ImageRequest(prompt="cats", model=IMAGE_MODEL))

    assert str(failed.value) == "fal.ai sent a reply we cannot read."
    assert imitation.count("submit") == 1


@pytest.mark.parametrize("endpoint", ["status", "result"])
async def test_a_malformed_reply_while_following_is_a_provider_error(
    fal: FalProvider, imitation: FalImitation, endpoint: str
) -> None:
    request_id = await fal.submit_image(ImageRequest(prompt="cats", model=IMAGE_MODEL))
    if endpoint == "result":
        await poll_until_done(fal, IMAGE_MODEL, request_id)
    imitation.faults.malformed = 1
    imitation.faults.only = endpoint

    with pytest.raises(ProviderError) as failed:
        if endpoint == "status":
            await fal.status(IMAGE_MODEL, request_id)
        else:
            await fal.result(IMAGE_MODEL, request_id)
    assert str(failed.value) == "fal.ai sent a reply we cannot read."


async def test_a_job_that_fails_at_fal_is_a_provider_error(fal: FalProvider, imitation: FalImitation) -> None:
    imitation.faults.fail_jobs = True
    request_id = await fal.submit_video(VideoRequest(prompt="waves", model=VIDEO_MODEL, duration_s=4))

    with pytest.raises(ProviderError) as failed:
        await poll_until_done(fal, VIDEO_MODEL, request_id)
    assert str(failed.value) == "fal.ai could not finish this generation: The model crashed while generating."
    with pytest.raises(ProviderError, match="could not finish this generation"):
        await fal.result(VIDEO_MODEL, request_id)


async def test_a_job_that_never_completes_never_reports_a_result(
    fal: FalProvider, imitation: FalImitation
) -> None:
    imitation.faults.never_complete = True
    request_id = await fal.submit_video(VideoRequest(prompt="waves", model=VIDEO_MODEL, duration_s=4))

    states = [(await fal.status(VIDEO_MODEL, request_id)).state for _ in range(12)]
    assert states == ["IN_QUEUE"] + ["IN_PROGRESS"] * 11
    with pytest.raises(ProviderError) as failed:
        await fal.result(VIDEO_MODEL, request_id)
    assert str(failed.value) == "fal.ai has not finished this generation yet."
    assert imitation.count("result") == 0


async def test_a_result_file_that_is_gone(fal: FalProvider, imitation: FalImitation) -> None:
    request_id = await fal.submit_image(ImageRequest(prompt="cats", model=IMAGE_MODEL))
    await poll_until_done(fal, IMAGE_MODEL, request_id)
    url = (await fal.result(IMAGE_MODEL, request_id)).urls[0]
    imitation.faults.files_gone = True

    with pytest.raises(ProviderError) as failed:
        await fal.download(url, MAX_BYTES)
    assert str(failed.value) == "The provider's result file is gone (404)"


async def test_a_file_over_the_limit_is_refused_from_its_length(
    fal: FalProvider, imitation: FalImitation
) -> None:
    request_id = await fal.submit_image(ImageRequest(prompt="cats", model=IMAGE_MODEL))
    await poll_until_done(fal, IMAGE_MODEL, request_id)
    url = (await fal.result(IMAGE_MODEL, request_id)).urls[0]
    size = len(imitation.files[url.rsplit("/", 1)[1]][0])

    with pytest.raises(ProviderError) as refused:
        await fal.download(url, max_bytes=size - 1)
    assert str(refused.value).startswith("The provider's file is ")
    assert str(refused.value).endswith(" limit; it was not saved.")


async def test_a_file_over_the_limit_without_a_length_is_cut_off(
    fal: FalProvider, imitation: FalImitation
) -> None:
    request_id = await fal.submit_video(VideoRequest(prompt="waves", model=VIDEO_MODEL, duration_s=4))
    await poll_until_done(fal, VIDEO_MODEL, request_id)
    url = (await fal.result(VIDEO_MODEL, request_id)).urls[0]
    imitation.faults.oversized_bytes = 5_000_000

    with pytest.raises(ProviderError) as refused:
        await fal.download(url, max_bytes=1_000_000)
    assert str(refused.value) == "The provider's file is over the 1.0 MB limit; it was not saved."


async def test_a_file_that_is_not_what_it_claims_is_refused(
    fal: FalProvider, imitation: FalImitation
) -> None:
    request_id = await fal.submit_image(ImageRequest(prompt="cats", model=IMAGE_MODEL))
    await poll_until_done(fal, IMAGE_MODEL, request_id)
    url = (await fal.result(IMAGE_MODEL, request_id)).urls[0]
    name = url.rsplit("/", 1)[1]
    imitation.files[name] = (b"<html>Access denied</html>", "image/png")

    with pytest.raises(ProviderError) as refused:
        await fal.download(url, MAX_BYTES)
    assert str(refused.value) == "fal.ai's result file is not a readable image."


async def test_a_plain_http_result_address_is_not_fetched(fal: FalProvider, imitation: FalImitation) -> None:
    with pytest.raises(ProviderError, match="not https"):
        await fal.download("http://127.0.0.1:9/file.png", MAX_BYTES)
