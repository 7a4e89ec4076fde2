"""Perceptual hashes of covers and video frames, and caption reuse, on bad and good input."""

from __future__ import annotations

import io

from PIL import Image

from assetry.integrations.offline import render_video
from assetry.services import post_matching, sandbox_posting


def test_what_is_not_an_image_or_a_video_has_no_hash() -> None:
    assert post_matching.image_hash(b"<html>403 Forbidden</html>") is None
    assert post_matching.image_hash(b"") is None
    assert post_matching.video_hashes(b"not an mp4 at all") == []


def test_a_cover_made_from_a_frame_is_near_that_frame_and_far_from_another_video() -> None:
    clip = render_video("a paper boat on a rainy street", duration_s=2, seed=3)
    other = render_video("neon signs in the fog at night", duration_s=2, seed=9)
    frames = post_matching.video_hashes(clip.content)
    assert len(frames) == 15  # 60 frames at 30 fps, every 4th (about 8 a second)
    cover = post_matching.image_hash(sandbox_posting.cover_from(clip.content, 1.0))

    def nearest(hashes: list[int]) -> int:
        return min(bin((cover ^ h) & (2**64 - 1)).count("1") for h in hashes)

    assert nearest(frames) <= post_matching.COVER_DISTANCE
    assert nearest(post_matching.video_hashes(other.content)) > post_matching.COVER_DISTANCE
    with Image.open(io.BytesIO(sandbox_posting.cover_from(clip.content))) as image:
        assert image.format == "JPEG" and max(image.size) <= 960


def test_caption_reuse_counts_shared_words_of_the_shorter_text() -> None:
    post = post_matching.words("My cat learns to skateboard!! #fyp")
    assert post == {"cat", "learns", "skateboard", "fyp"}
    texts = [post_matching.words("my cat learns to skateboard in the park"), post_matching.words("cat")]
    assert post_matching.caption_reuse(post, texts) == (3, 0.75)
    assert post_matching.caption_reuse(post, [post_matching.words("sunset harbour")]) == (0, 0.0)
