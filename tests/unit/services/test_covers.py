"""A library cover: a small WebP of an image output, kept beside its file under a key of our own shape."""

from __future__ import annotations

import io
import uuid

import pytest
from PIL import Image

from assetry.errors import BadInput
from assetry.integrations import offline
from assetry.integrations.storage import check_key
from assetry.services import covers, media


def _webp(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    assert image.format == "WEBP"
    return image


def test_a_cover_is_a_small_webp_of_the_picture_in_its_own_shape() -> None:
    tall = offline.render_image("a surfer at sunset", aspect_ratio="9:16", seed=1)
    small = covers.make(tall.content)

    assert small is not None and len(small) < len(tall.content) / 10
    assert _webp(small).size == (180, covers.SIDE)  # 720×1280 brought to SIDE, the shape kept
    # The same colours: the cover's middle is the picture's middle, within WebP's loss.
    middle = (tall.width // 2, tall.height // 2)
    original = Image.open(io.BytesIO(tall.content)).convert("RGB").getpixel(middle)
    shown = _webp(small).convert("RGB").getpixel((90, covers.SIDE // 2))
    assert max(abs(a - b) for a, b in zip(original, shown, strict=True)) < 40


def test_a_small_picture_is_not_enlarged_and_transparency_is_kept() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (100, 60), (200, 10, 10, 0)).save(out, "PNG")
    cover = _webp(covers.make(out.getvalue()) or b"")

    assert cover.size == (100, 60)
    assert cover.convert("RGBA").getpixel((50, 30))[3] == 0


def test_what_is_no_picture_has_no_cover() -> None:
    assert covers.make(b"not a picture") is None


def test_a_cover_is_kept_beside_its_file_under_an_accepted_key() -> None:
    owner, generation = uuid.uuid4(), uuid.uuid4()
    key = media.key_for(owner, generation, 2, "image/png")

    assert covers.key_of(key) == f"{owner}/{generation}/2.cover.webp"
    assert check_key(covers.key_of(key))
    for other in ("2.cover.png", "2.cover.webp.png", "2.thumb.webp", "cover.webp"):
        with pytest.raises(BadInput):
            check_key(f"{owner}/{generation}/{other}")
