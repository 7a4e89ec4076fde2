"""The offline provider renders real files: what a creator downloads must open, play and read right."""

from __future__ import annotations

import asyncio
import io
import re
import unicodedata
from pathlib import Path

import av
import pytest
from PIL import Image, ImageChops, ImageStat

from assetry.errors import BadInput, ProviderError
from assetry.integrations.generation import ASPECT_SIZES, CaptionRequest, ImageRequest, VideoRequest
from assetry.integrations.offline import (
    BOLD_FONT_FILES,
    CAPTION_LIMITS,
    MAX_CAPTIONS,
    MAX_PROMPT_CHARS,
    TONES,
    OfflineProvider,
    palette_for,
    render_image,
    render_video,
    write_captions,
)

PROMPT = "A cinematic drone shot of a surfer at sunset, golden hour, 4k"
EMOJI_PROMPT = "Café naïve 🎉🔥 日本語 — Привет, ünïcödé ✨👩‍👩‍👧 e\u0301 \u200d"
LONG_PROMPT = ("Morning coffee routine in a cozy pastel kitchen with plants and soft light, " * 30)[:2000]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _is_webp(data: bytes) -> bool:
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"


def _decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _probe(data: bytes, tmp_path: Path) -> dict:
    """What ffprobe would say about an MP4, read back with PyAV."""
    path = tmp_path / "clip.mp4"
    path.write_bytes(data)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [frame.to_image() for frame in container.decode(stream)]
        return {
            "format": container.format.name,
            "codec": stream.codec_context.name,
            "pix_fmt": stream.codec_context.pix_fmt,
            "size": (stream.codec_context.width, stream.codec_context.height),
            "duration": container.duration / av.time_base,
            "fps": float(stream.average_rate),
            "frames": frames,
            "has_audio": bool(container.streams.audio),
        }


def _difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference per channel, 0–255."""
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) / 3


# ----- images -------------------------------------------------------------------------------


@pytest.mark.parametrize("aspect_ratio", ["9:16", "1:1", "16:9"])
async def test_images_are_pngs_at_the_aspect_size(aspect_ratio: str) -> None:
    files = await OfflineProvider().images(
        ImageRequest(prompt=PROMPT, model="offline", aspect_ratio=aspect_ratio, count=2, seed=7)
    )
    assert len(files) == 2
    for media in files:
        assert media.content.startswith(PNG_MAGIC)
        assert media.content_type == "image/png"
        assert (media.width, media.height) == ASPECT_SIZES[aspect_ratio]
        image = _decoded(media.content)
        assert image.format == "PNG"
        assert image.size == ASPECT_SIZES[aspect_ratio]
    assert files[0].content != files[1].content, "variations must differ"


async def test_webp_when_the_provider_is_set_to_webp() -> None:
    files = await OfflineProvider(image_format="webp").images(
        ImageRequest(prompt=PROMPT, model="offline", aspect_ratio="9:16", seed=1)
    )
    assert _is_webp(files[0].content)
    assert files[0].content_type == "image/webp"
    image = _decoded(files[0].content)
    assert image.format == "WEBP"
    assert image.size == (720, 1280)


def test_same_prompt_and_seed_give_identical_bytes_and_another_seed_another_image() -> None:
    first = render_image(PROMPT, seed=3).content
    assert render_image(PROMPT, seed=3).content == first
    assert (
        render_image(PROMPT, seed=3, image_format="webp").content
        == render_image(PROMPT, seed=3, image_format="webp").content
    )
    other_seed = render_image(PROMPT, seed=4).content
    other_prompt = render_image(PROMPT + " with dolphins", seed=3).content
    assert other_seed != first
    assert other_prompt != first
    # Not merely different bytes: visibly different pictures.
    assert _difference(_decoded(first), _decoded(other_seed)) > 5


async def test_variations_are_seed_seed_plus_one_and_so_on() -> None:
    files = await OfflineProvider().images(ImageRequest(prompt=PROMPT, model="offline", count=3, seed=10))
    assert [f.content for f in files] == [render_image(PROMPT, seed=s).content for s in (10, 11, 12)]


async def test_no_seed_renders_as_seed_zero() -> None:
    files = await OfflineProvider().images(ImageRequest(prompt=PROMPT, model="offline"))
    assert files[0].content == render_image(PROMPT, seed=0).content


def _ink_share(data: bytes, ink: tuple[int, int, int]) -> float:
    """The share of pixels in the text's colour (every channel within 24 of it)."""
    image = _decoded(data).convert("RGB")
    red, green, blue = ImageChops.difference(image, Image.new("RGB", image.size, ink)).split()
    farthest = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    return sum(farthest.histogram()[:25]) / (image.width * image.height)


@pytest.mark.parametrize(
    "prompt", ["Neon night market with lanterns and rain", "Soft pastel morning with croissants and coffee"]
)
@pytest.mark.parametrize("font_files", [BOLD_FONT_FILES, ()], ids=["dejavu", "pillow-font"])
def test_the_prompt_is_written_on_the_picture(prompt: str, font_files: tuple[str, ...]) -> None:
    """Light text on dark moods, dark text on pastel ones: a sentence covers far more than one letter."""
    sentence = _ink_share(
        render_image(prompt, seed=2, font_files=font_files).content, palette_for(prompt, 2).ink
    )
    assert sentence > 0.012
    # Same mood ("neon", "pastel"), two short words: far less ink.
    short = prompt.split()[0] + " x"
    assert palette_for(short, 2).mood == palette_for(prompt, 2).mood
    letter = _ink_share(render_image(short, seed=2, font_files=font_files).content, palette_for(short, 2).ink)
    assert letter < sentence / 2


@pytest.mark.parametrize(
    ("prompt", "aspect_ratio"),
    [
        (EMOJI_PROMPT, "1:1"),
        (LONG_PROMPT, "9:16"),
        (LONG_PROMPT, "16:9"),
        ("🎉🔥✨", "1:1"),
        ("x" * 2000, "9:16"),
        ("x" * 2000, "16:9"),
        ("日本語のテキスト", "9:16"),
    ],
)
def test_unicode_emoji_and_long_prompts_render(prompt: str, aspect_ratio: str) -> None:
    media = render_image(prompt, aspect_ratio=aspect_ratio, seed=1)
    assert _decoded(media.content).size == ASPECT_SIZES[aspect_ratio]


def test_renders_without_any_font_file_on_the_machine() -> None:
    """CI machines may lack DejaVu: Pillow's built-in font takes over."""
    media = render_image(EMOJI_PROMPT, seed=5, font_files=("/nonexistent/Font.ttf",))
    assert _decoded(media.content).size == (1024, 1024)
    if Path(BOLD_FONT_FILES[0]).exists():
        assert media.content != render_image(EMOJI_PROMPT, seed=5).content, "the fallback font was not used"


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (ImageRequest(prompt="   ", model="offline"), "Write a prompt first"),
        (ImageRequest(prompt="x" * (MAX_PROMPT_CHARS + 1), model="offline"), "keep it under 5,000"),
        (
            ImageRequest(prompt=PROMPT, model="offline", aspect_ratio="4:3"),
            "Choose an aspect ratio: 9:16, 1:1, 16:9",
        ),  # type: ignore[arg-type]
        (ImageRequest(prompt=PROMPT, model="offline", count=0), "between 1 and 8 images"),
        (ImageRequest(prompt=PROMPT, model="offline", count=9), "between 1 and 8 images"),
    ],
)
async def test_bad_image_requests_say_what_to_change(request_: ImageRequest, message: str) -> None:
    with pytest.raises(BadInput, match=re.escape(message)):
        await OfflineProvider().images(request_)


def test_an_unknown_image_format_is_refused() -> None:
    with pytest.raises(BadInput, match="png or webp"):
        OfflineProvider(image_format="gif")  # type: ignore[arg-type]


# ----- video --------------------------------------------------------------------------------


async def test_video_is_h264_mp4_of_the_asked_duration_and_size(tmp_path: Path) -> None:
    media = await OfflineProvider().video(VideoRequest(prompt=PROMPT, model="offline", seed=2))
    probe = _probe(media.content, tmp_path)
    assert media.content_type == "video/mp4"
    assert "mp4" in probe["format"]
    assert probe["codec"] == "h264"
    assert probe["pix_fmt"] == "yuv420p"
    assert probe["size"] == (540, 960) == (media.width, media.height)
    assert abs(probe["duration"] - 5) <= 0.2
    assert media.duration_s == 5
    assert 24 <= probe["fps"] <= 30
    assert abs(len(probe["frames"]) / probe["fps"] - 5) <= 0.2
    # Faststart: the index comes before the media data, so browsers play while downloading.
    assert 0 < media.content.find(b"moov") < media.content.find(b"mdat")


async def test_video_moves(tmp_path: Path) -> None:
    media = await OfflineProvider().video(VideoRequest(prompt=PROMPT, model="offline", duration_s=3, seed=2))
    frames = _probe(media.content, tmp_path)["frames"]
    # Consecutive frames differ a little (smooth motion), the start and the end a lot.
    assert _difference(frames[30], frames[31]) > 0.2
    assert _difference(frames[0], frames[-1]) > 5


@pytest.mark.parametrize(("aspect_ratio", "size"), [("16:9", (960, 540)), ("1:1", (768, 768))])
def test_video_sizes_for_other_aspects(aspect_ratio: str, size: tuple[int, int], tmp_path: Path) -> None:
    media = render_video(PROMPT, aspect_ratio=aspect_ratio, duration_s=2)
    probe = _probe(media.content, tmp_path)
    assert probe["size"] == size == (media.width, media.height)
    assert abs(probe["duration"] - 2) <= 0.2


def test_video_at_full_size_when_asked(tmp_path: Path) -> None:
    media = render_video(PROMPT, duration_s=1, scale=1.0)
    assert _probe(media.content, tmp_path)["size"] == (720, 1280)


def _frames(video: bytes) -> list[Image.Image]:
    with av.open(io.BytesIO(video)) as container:
        return [frame.to_image() for frame in container.decode(video=0)]


def _worst_frame_difference(first: bytes, second: bytes) -> float:
    """The largest mean per-channel difference (0-255) between matching frames."""
    return max(_difference(a, b) for a, b in zip(_frames(first), _frames(second), strict=True))


def test_video_is_the_same_picture_for_the_same_seed() -> None:
    # The frames are a pure function of the request; the encoded bytes can differ slightly
    # between runs on a busy machine (a fraction of a level), a new seed changes the picture.
    first = render_video(PROMPT, duration_s=1, seed=9).content
    assert _worst_frame_difference(first, render_video(PROMPT, duration_s=1, seed=9).content) < 2
    assert _worst_frame_difference(first, render_video(PROMPT, duration_s=1, seed=10).content) > 20


@pytest.mark.parametrize("prompt", [EMOJI_PROMPT, LONG_PROMPT])
def test_video_with_unicode_and_long_prompts(prompt: str, tmp_path: Path) -> None:
    media = render_video(prompt, duration_s=1, font_files=("/nonexistent/Font.ttf", *BOLD_FONT_FILES))
    assert _probe(media.content, tmp_path)["codec"] == "h264"


def test_fractional_durations(tmp_path: Path) -> None:
    media = render_video(PROMPT, duration_s=2.5, seed=1)
    assert media.duration_s == 2.5
    assert abs(_probe(media.content, tmp_path)["duration"] - 2.5) <= 0.2


async def test_an_encoder_failure_is_a_provider_error_with_a_plain_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    provider = OfflineProvider(video_codec="libnot-an-encoder")
    with pytest.raises(ProviderError) as raised:
        await provider.video(VideoRequest(prompt=PROMPT, model="offline", duration_s=1))
    assert str(raised.value) == (
        "The offline preview video could not be encoded on this server; try again later."
    )
    assert "libnot-an-encoder" in caplog.text, "the cause is logged for the operator"


@pytest.mark.parametrize("duration_s", [0, 31])
async def test_video_duration_outside_the_limits_is_refused(duration_s: int) -> None:
    with pytest.raises(BadInput, match="between 1 and 30 seconds"):
        await OfflineProvider().video(VideoRequest(prompt=PROMPT, model="offline", duration_s=duration_s))


async def test_rendering_does_not_block_the_event_loop() -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        await OfflineProvider().video(VideoRequest(prompt=PROMPT, model="offline", duration_s=2))
    finally:
        ticker.cancel()
    # A 2-second clip takes well over 0.3 s to render; a blocked loop would tick once or not at all.
    assert ticks >= 10


# ----- captions -----------------------------------------------------------------------------

_EMOJI = re.compile(r"[\u2600-\u27bf\U0001f000-\U0001faff]")


def _caption(**fields) -> CaptionRequest:
    return CaptionRequest(**({"prompt": PROMPT, "model": "offline"} | fields))


@pytest.mark.parametrize("tone", TONES)
@pytest.mark.parametrize("length", ["short", "medium", "long"])
def test_captions_are_distinct_and_within_the_length_limit(tone: str, length: str) -> None:
    captions = write_captions(_caption(tone=tone, length=length, count=MAX_CAPTIONS))
    assert len(captions) == MAX_CAPTIONS
    assert len(set(captions)) == MAX_CAPTIONS
    for caption in captions:
        assert 10 < len(caption) <= CAPTION_LIMITS[length]
        assert "{" not in caption, caption


def test_longer_lengths_write_more() -> None:
    average = {
        length: sum(map(len, write_captions(_caption(length=length, hashtags=False)))) / 3
        for length in ("short", "medium", "long")
    }
    assert average["short"] < average["medium"] < average["long"]


async def test_captions_count_and_determinism() -> None:
    provider = OfflineProvider()
    first = await provider.captions(_caption(count=4))
    assert len(first) == 4
    assert await provider.captions(_caption(count=4)) == first
    assert await provider.captions(_caption(count=4, tone="bold")) != first


def test_hashtags_come_from_the_prompt_words() -> None:
    for caption in write_captions(_caption(hashtags=True)):
        tags = re.findall(r"#(\w+)", caption)
        assert 1 <= len(tags) <= 6
        assert set(tags) <= {"drone", "surfer", "sunset", "golden", "hour"}, tags
        assert "#surfer" in caption or "#sunset" in caption
    for caption in write_captions(_caption(hashtags=False, length="long")):
        assert "#" not in caption


def test_each_tone_sounds_different() -> None:
    by_tone = {tone: write_captions(_caption(tone=tone, hashtags=False)) for tone in TONES}
    assert len({tuple(c) for c in by_tone.values()}) == len(TONES)
    friendly_emoji = {"😊", "✨", "💛", "🌈"}
    bold_emoji = {"🔥", "⚡", "💥", "🚀"}
    assert all(set(_EMOJI.findall(c)) & friendly_emoji for c in by_tone["friendly"])
    assert all(set(_EMOJI.findall(c)) & bold_emoji for c in by_tone["bold"])


def test_captions_name_the_subject_not_the_camera_jargon() -> None:
    for caption in write_captions(_caption(hashtags=False, count=5)):
        assert "surfer at sunset" in caption.lower()
        assert "4k" not in caption


def test_examples_without_emoji_give_captions_without_emoji() -> None:
    examples = ["Shipped the new edit today. Thoughts?", "Three cuts, one idea. #editing"]
    for caption in write_captions(_caption(tone="friendly", examples=examples, count=5)):
        assert not _EMOJI.search(caption), caption


def test_examples_habits_are_reused() -> None:
    examples = ["morning vibes only ☕ #fyp #coffeetime", "new week new me ☕☕ #fyp"]
    captions = write_captions(_caption(prompt="Morning coffee routine", examples=examples, count=4))
    for caption in captions:
        assert "☕" in caption
        assert "#fyp" in caption
        body = re.sub(r"#\w+", "", caption)
        assert body == body.lower(), "the examples are all lowercase"


@pytest.mark.parametrize("prompt", [EMOJI_PROMPT, LONG_PROMPT, "🎉🔥✨", "x" * 2000])
@pytest.mark.parametrize("length", ["short", "long"])
def test_captions_for_odd_prompts_stay_in_bounds(prompt: str, length: str) -> None:
    captions = write_captions(_caption(prompt=prompt, length=length, count=5))
    assert len(set(captions)) == 5
    for caption in captions:
        assert len(caption) <= CAPTION_LIMITS[length]
        assert all(unicodedata.category(c) != "Cs" for c in caption)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"prompt": ""}, "Write a prompt first"),
        ({"tone": "sarcastic"}, "Choose a tone: friendly, bold, funny or informative."),
        ({"length": "epic"}, "Choose a length: short, medium or long."),
        ({"count": 0}, "between 1 and 10 captions"),
        ({"count": 11}, "between 1 and 10 captions"),
    ],
)
async def test_bad_caption_requests_say_what_to_change(fields: dict, message: str) -> None:
    with pytest.raises(BadInput, match=re.escape(message)):
        await OfflineProvider().captions(_caption(**fields))
