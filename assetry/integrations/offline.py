"""Offline provider: real images, videos and captions rendered on this machine, with no keys.

The studio uses it when no generation provider is configured; the UI labels its results
"Offline preview". Every result is a pure function of the request (prompt, seed, options):
the same request gives the same picture, another seed gives another variation. (Images are
the same bytes; a video's frames are the same before encoding, but the H.264 bytes can differ
slightly between encodes on a busy machine, a fraction of a level per pixel.)

- Images (Pillow): a palette and composition derived from a hash of the prompt (colour and
  mood words such as "ocean" or "neon" steer it), the prompt wrapped on a panel in DejaVu Sans
  when the machine has it, else Pillow's built-in font. PNG, or WebP when constructed so.
- Video (PyAV, whose wheels bundle FFmpeg with libx264): H.264, yuv420p, `+faststart` so a
  browser starts playing before the whole file has arrived, 30 fps, a drifting gradient,
  moving shapes and the prompt as a title card. Rendered at `video_scale` (default 3/4) of
  `ASPECT_SIZES` to stay fast, e.g. 9:16 → 540×960; the MediaFile reports the real size.
- Captions: templates per tone and length, hashtags from the prompt's words, and the habits
  of the creator's example captions (emoji or none, their recurring hashtags, lowercase).

The async methods run the CPU work in a thread (`asyncio.to_thread`): the event loop never blocks.

Errors (`assetry.errors`):
- `BadInput`: empty or oversized prompt; unknown aspect ratio, tone, length or image format;
  a count or duration outside the limits below. Raised before any work, with what to change.
- `ProviderError`: the local video encoder failed (e.g. an FFmpeg build without libx264).
- `RateLimited` and `AuthExpired` never happen: there is no remote side.
"""

from __future__ import annotations

import asyncio
import colorsys
import functools
import hashlib
import io
import logging
import math
import random
import re
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from assetry.errors import BadInput, ProviderError
from assetry.integrations import hooks as hook_styles
from assetry.integrations.generation import (
    ASPECT_SIZES,
    CaptionRequest,
    ImageRequest,
    MediaFile,
    VideoRequest,
)

log = logging.getLogger(__name__)

MAX_PROMPT_CHARS = 5000
MAX_IMAGES = 8
MAX_CAPTIONS = 10
MAX_VIDEO_SECONDS = 30
VIDEO_FPS = 30
VIDEO_SCALE = 0.75
# libx264 ships in PyAV's wheels; another H.264 encoder can be named for unusual FFmpeg builds.
VIDEO_CODEC = "libx264"
# Longest caption, hashtags included, per requested length.
CAPTION_LIMITS: dict[str, int] = {"short": 120, "medium": 280, "long": 600}
TONES = ("friendly", "bold", "funny", "informative")
ImageFormat = Literal["png", "webp"]
IMAGE_CONTENT_TYPES: dict[str, str] = {"png": "image/png", "webp": "image/webp"}

_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
# Tried in order; Pillow's built-in font is the fallback when none of them exists.
BOLD_FONT_FILES: tuple[str, ...] = (
    str(_FONT_DIR / "DejaVuSans-Bold.ttf"),
    "DejaVuSans-Bold.ttf",  # Pillow also looks in the system's font folders
)
FOOTER_LABEL = "Offline preview"

RGB = tuple[int, int, int]
RGBA = tuple[int, int, int, int]


# ----- validation ---------------------------------------------------------------------------


def _check_prompt(prompt: str) -> str:
    text = " ".join(prompt.split())
    if not text:
        raise BadInput("Write a prompt first: describe what you want to see.")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise BadInput(f"That prompt is {len(prompt):,} characters; keep it under {MAX_PROMPT_CHARS:,}.")
    return text


def _check_aspect(aspect_ratio: str) -> tuple[int, int]:
    if aspect_ratio not in ASPECT_SIZES:
        choices = ", ".join(ASPECT_SIZES)
        raise BadInput(f"Choose an aspect ratio: {choices}.")
    return ASPECT_SIZES[aspect_ratio]


def _check_count(count: int, limit: int, what: str) -> None:
    if not 1 <= count <= limit:
        raise BadInput(f"Ask for between 1 and {limit} {what}.")


def _check_format(image_format: str) -> None:
    if image_format not in IMAGE_CONTENT_TYPES:
        raise BadInput("Choose an image format: png or webp.")


# ----- determinism --------------------------------------------------------------------------


def _rng(prompt: str, seed: int, salt: str) -> random.Random:
    """A random generator that depends only on (prompt, seed, salt)."""
    digest = hashlib.sha256(f"{salt}\x00{seed}\x00{prompt}".encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def _words(text: str) -> list[str]:
    return [w.lower() for w in re.findall(r"[^\W_]+", text)]


# ----- palette ------------------------------------------------------------------------------

_HUE_WORDS: dict[str, int] = {
    "red": 0, "fire": 8, "lava": 12, "sunset": 18, "autumn": 24, "coffee": 26, "orange": 30,
    "desert": 36, "gold": 44, "golden": 44, "sun": 48, "yellow": 54, "lemon": 58, "spring": 95,
    "nature": 110, "green": 120, "forest": 130, "jungle": 135, "mint": 155, "teal": 175,
    "beach": 188, "ocean": 198, "sea": 200, "winter": 200, "snow": 205, "ice": 195, "sky": 208,
    "blue": 222, "night": 232, "space": 248, "galaxy": 258, "lavender": 268, "purple": 278,
    "violet": 282, "cyber": 292, "neon": 305, "magenta": 312, "pink": 330, "rose": 345,
    "love": 350, "cherry": 352,
}  # fmt: skip
_DARK_WORDS = frozenset({"night", "dark", "space", "galaxy", "noir", "moody", "cyber", "neon", "midnight"})
_PASTEL_WORDS = frozenset({"pastel", "soft", "calm", "cozy", "gentle", "minimal", "light", "dreamy", "baby"})


@dataclass(frozen=True)
class Palette:
    """Colours of one render: a background gradient, accents for shapes, and the text's ink."""

    start: RGB
    end: RGB
    accents: tuple[RGB, ...]
    ink: RGB
    panel: RGBA
    mood: str


def _hls(hue: float, lightness: float, saturation: float) -> RGB:
    r, g, b = colorsys.hls_to_rgb(hue % 1.0, max(0.0, min(1.0, lightness)), max(0.0, min(1.0, saturation)))
    return round(r * 255), round(g * 255), round(b * 255)


def palette_for(prompt: str, seed: int) -> Palette:
    """The palette: its family comes from the prompt, the seed nudges it."""
    words = set(_words(prompt))
    family = _rng(prompt, 0, "palette")
    hues = [_HUE_WORDS[w] for w in _words(prompt) if w in _HUE_WORDS]
    base = hues[0] / 360 if hues else family.random()
    if words & _DARK_WORDS:
        mood = "dark"
    elif words & _PASTEL_WORDS:
        mood = "pastel"
    else:
        mood = family.choice(("dark", "vivid", "vivid", "pastel"))
    rng = _rng(prompt, seed, "palette")
    base += rng.uniform(-0.035, 0.035)
    offsets = rng.choice(((0.08, -0.08, 0.5), (0.5, 0.08, 0.58), (0.33, 0.66, 0.1), (0.12, 0.55, 0.62)))
    sweep = rng.choice((-0.09, 0.07, 0.12))
    if mood == "dark":
        start, end = _hls(base, 0.1, 0.55), _hls(base + sweep, 0.24, 0.6)
        accents = tuple(_hls(base + o, 0.6, 0.9) for o in (0, *offsets))
        ink, panel = (255, 255, 255), (8, 8, 16, 130)
    elif mood == "pastel":
        start, end = _hls(base, 0.86, 0.6), _hls(base + sweep, 0.74, 0.55)
        accents = tuple(_hls(base + o, 0.66, 0.75) for o in (0, *offsets))
        ink, panel = _hls(base, 0.14, 0.45), (255, 255, 255, 150)
    else:
        start, end = _hls(base, 0.42, 0.78), _hls(base + sweep, 0.56, 0.82)
        accents = tuple(_hls(base + o, 0.64, 0.95) for o in (0, *offsets))
        ink, panel = (255, 255, 255), (10, 10, 20, 110)
    return Palette(start=start, end=end, accents=accents, ink=ink, panel=panel, mood=mood)


# ----- fonts and text -----------------------------------------------------------------------

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _load_font(size: int, font_files: Sequence[str]) -> tuple[Font, str]:
    """The first font that loads, and a key naming it; Pillow's own font if none does."""
    for name in font_files:
        try:
            return ImageFont.truetype(name, size, layout_engine=ImageFont.Layout.BASIC), name
        except OSError:
            continue
    try:
        return ImageFont.load_default(size), "<pillow>"
    except (OSError, ImportError):  # Pillow built without FreeType: a small bitmap font
        return ImageFont.load_default(), "<bitmap>"


def _glyph_print(font: Font, char: str) -> bytes:
    canvas = Image.new("L", (48, 48))
    ImageDraw.Draw(canvas).text((6, 4), char, font=font, fill=255)
    return canvas.tobytes()


@functools.lru_cache(maxsize=4096)
def _has_glyph(font_files: tuple[str, ...], char: str) -> bool:
    """Whether the font draws `char` as itself rather than as its "missing glyph" box."""
    font, key = _load_font(28, font_files)
    if key == "<bitmap>":
        return char.isascii() and char.isprintable()
    drawn = _glyph_print(font, char)
    return any(drawn) and drawn != _glyph_print(font, "\U0010fffd")


def _drawable(text: str, font_files: tuple[str, ...]) -> str:
    """The text as the font can draw it: accents dropped where it lacks "é" but has "e";
    emoji and scripts it lacks removed."""
    kept = []
    for char in unicodedata.normalize("NFC", text):
        if char.isspace():
            kept.append(" ")
        elif unicodedata.category(char)[0] in "MC":
            continue
        elif _has_glyph(font_files, char):
            kept.append(char)
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
            if base and base != char and all(_has_glyph(font_files, c) for c in base):
                kept.append(base)
    return " ".join("".join(kept).split())


def _longest_fitting_prefix(word: str, font: Font, max_width: float) -> int:
    """How many leading characters of `word` fit `max_width` (at least one)."""
    low, high = 1, 8
    # Measure short prefixes only: a 2,000-character word is costly to measure whole.
    while high < len(word) and font.getlength(word[:high]) <= max_width:
        low, high = high, high * 2
    high = min(high, len(word))
    while low < high:
        mid = (low + high + 1) // 2
        if font.getlength(word[:mid]) <= max_width:
            low = mid
        else:
            high = mid - 1
    return low


def _wrap(text: str, font: Font, max_width: float, max_lines: int) -> list[str]:
    """Greedy word wrap by pixel width, words wider than a line split; stops after `max_lines` + 1."""
    lines: list[str] = []
    line = ""
    for original in text.split():
        word = original
        candidate = f"{line} {word}" if line else word
        if font.getlength(candidate) <= max_width:
            line = candidate
            continue
        if line:
            lines.append(line)
        while len(word) > 1 and len(lines) <= max_lines:
            cut = _longest_fitting_prefix(word, font, max_width)
            if cut >= len(word):
                break
            lines.append(word[:cut])
            word = word[cut:]
        line = word
        if len(lines) > max_lines:
            return lines
    if line:
        lines.append(line)
    return lines


def _line_height(font: Font) -> int:
    top, bottom = font.getbbox("Ág")[1::2]
    return max(1, round((bottom - top) * 1.28))


def _fit_text(
    text: str, box: tuple[int, int], size: int, min_size: int, font_files: tuple[str, ...]
) -> tuple[Font, list[str]]:
    """The largest font (down to `min_size`) at which `text` fits `box`; cut with … if it never does."""
    max_width, max_height = box
    while True:
        font, _ = _load_font(size, font_files)
        lines = _wrap(text, font, max_width, max_lines=max(1, max_height // _line_height(font)))
        if len(lines) * _line_height(font) <= max_height or size <= min_size:
            break
        size = max(min_size, int(size * 0.86))
    room = max(1, max_height // _line_height(font))
    if len(lines) > room:
        lines = lines[:room]
        last = lines[-1].rstrip(" .,;:") + "…"
        while font.getlength(last) > max_width and len(last) > 1:
            last = last[:-2].rstrip() + "…"
        lines[-1] = last
    return font, lines


def _draw_lines(
    draw: ImageDraw.ImageDraw, lines: list[str], font: Font, center_x: float, top: float, fill: RGB
) -> None:
    height = _line_height(font)
    for index, line in enumerate(lines):
        x = center_x - font.getlength(line) / 2
        draw.text((round(x), round(top + index * height)), line, font=font, fill=fill)


def _text_panel(
    text: str, width: int, height: int, palette: Palette, font_files: tuple[str, ...]
) -> Image.Image:
    """An RGBA card with the prompt wrapped on it, as large as fits `width`×`height`."""
    pad = max(8, round(min(width, height) * 0.07))
    font, lines = _fit_text(
        text,
        (width - 2 * pad, height - 2 * pad),
        size=max(12, round(min(width * 0.105, height * 0.2))),
        min_size=max(10, round(width * 0.032)),
        font_files=font_files,
    )
    line_h = _line_height(font)
    panel_h = min(height, len(lines) * line_h + 2 * pad)
    card = Image.new("RGBA", (width, panel_h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(card)
    draw.rounded_rectangle((0, 0, width - 1, panel_h - 1), radius=pad, fill=palette.panel)
    first_top = font.getbbox("Ág")[1]
    _draw_lines(draw, lines, font, width / 2, pad - first_top + line_h * 0.1, palette.ink)
    return card


def _footer(text: str, height: int, palette: Palette, font_files: tuple[str, ...]) -> Image.Image:
    font, _ = _load_font(max(10, height), font_files)
    width = round(font.getlength(text)) + 2
    label = Image.new("RGBA", (width, round(height * 1.4)), (0, 0, 0, 0))
    ImageDraw.Draw(label).text((1, 0), text, font=font, fill=(*palette.ink, 170))
    return label


# ----- composition --------------------------------------------------------------------------


def _gradient(size: tuple[int, int], start: RGB, end: RGB, angle: float) -> Image.Image:
    ramp = Image.linear_gradient("L").resize((362, 362), Image.Resampling.BICUBIC)
    ramp = ramp.rotate(angle, resample=Image.Resampling.BICUBIC).crop((53, 53, 309, 309))
    mask = ramp.resize(size, Image.Resampling.BICUBIC)
    return Image.composite(Image.new("RGB", size, end), Image.new("RGB", size, start), mask)


def _backdrop(size: tuple[int, int], palette: Palette, rng: random.Random) -> Image.Image:
    """A smooth gradient with soft glowing blobs, drawn small and blurred, then scaled up."""
    width, height = size
    small = (max(16, width // 8), max(16, height // 8))
    base = _gradient(small, palette.start, palette.end, rng.uniform(0, 360))
    draw = ImageDraw.Draw(base, "RGBA")
    short_side = min(small)
    for _ in range(rng.randint(3, 5)):
        radius = short_side * rng.uniform(0.18, 0.45)
        x, y = rng.uniform(0, small[0]), rng.uniform(0, small[1])
        colour = rng.choice(palette.accents)
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=(*colour, rng.randint(90, 170)))
    base = base.filter(ImageFilter.GaussianBlur(short_side * 0.12))
    return base.resize(size, Image.Resampling.BICUBIC)


def _shapes(canvas: Image.Image, palette: Palette, rng: random.Random) -> None:
    """Crisp motifs over the backdrop: rings, confetti, waves, dot grids, arcs."""
    width, height = canvas.size
    unit = min(width, height)
    draw = ImageDraw.Draw(canvas, "RGBA")

    def colour(alpha_low: int, alpha_high: int) -> RGBA:
        return (*rng.choice(palette.accents), rng.randint(alpha_low, alpha_high))

    def rings() -> None:
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        stroke = max(2, round(unit * rng.uniform(0.006, 0.014)))
        for step in range(rng.randint(3, 6)):
            r = unit * (0.12 + step * rng.uniform(0.07, 0.11))
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=colour(60, 150), width=stroke)

    def confetti() -> None:
        for _ in range(rng.randint(10, 22)):
            x, y = rng.uniform(0, width), rng.uniform(0, height)
            r = unit * rng.uniform(0.008, 0.035)
            if rng.random() < 0.5:
                draw.ellipse((x - r, y - r, x + r, y + r), fill=colour(120, 230))
            else:
                draw.rounded_rectangle((x - r, y - r, x + r, y + r), radius=r * 0.35, fill=colour(120, 230))

    def waves() -> None:
        stroke = max(2, round(unit * rng.uniform(0.008, 0.02)))
        amplitude, period = unit * rng.uniform(0.02, 0.06), unit * rng.uniform(0.25, 0.5)
        for _ in range(rng.randint(2, 4)):
            y0, phase = rng.uniform(0.1, 0.9) * height, rng.uniform(0, math.tau)
            points = [
                (x, y0 + amplitude * math.sin(phase + math.tau * x / period)) for x in range(0, width + 8, 8)
            ]
            draw.line(points, fill=colour(70, 170), width=stroke, joint="curve")

    def dots() -> None:
        gap = unit * rng.uniform(0.035, 0.06)
        r = gap * 0.14
        x0, y0 = rng.uniform(0, width * 0.6), rng.uniform(0, height * 0.6)
        fill = colour(90, 190)
        for row in range(rng.randint(4, 8)):
            for column in range(rng.randint(4, 8)):
                x, y = x0 + column * gap, y0 + row * gap
                draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)

    def arcs() -> None:
        for _ in range(rng.randint(2, 4)):
            cx, cy = rng.uniform(0, width), rng.uniform(0, height)
            r = unit * rng.uniform(0.15, 0.4)
            start = rng.uniform(0, 360)
            stroke = max(3, round(unit * rng.uniform(0.015, 0.035)))
            draw.arc((cx - r, cy - r, cx + r, cy + r), start, start + rng.uniform(60, 200),
                     fill=colour(110, 220), width=stroke)  # fmt: skip

    motifs = [rings, confetti, waves, dots, arcs]
    for motif in rng.sample(motifs, 2):
        motif()


def _image(
    text: str, size: tuple[int, int], seed: int, font_files: tuple[str, ...], prompt: str
) -> Image.Image:
    """The finished RGB picture: drawn at twice the size, then scaled down for smooth edges."""
    width, height = size
    big = (width * 2, height * 2)
    palette = palette_for(prompt, seed)
    rng = _rng(prompt, seed, "image")
    canvas = _backdrop(big, palette, rng)
    _shapes(canvas, palette, rng)
    landscape = width > height
    panel_w = round(big[0] * (0.62 if landscape else 0.84))
    panel = _text_panel(text, panel_w, round(big[1] * (0.62 if landscape else 0.46)), palette, font_files)
    x = (big[0] - panel_w) // 2 if not landscape else round(big[0] * rng.choice((0.06, 0.19, 0.32)))
    y = round((big[1] - panel.height) * rng.choice((0.5, 0.62, 0.72)))
    canvas.paste(panel, (x, y), panel)
    label = _footer(FOOTER_LABEL, round(min(big) * 0.022), palette, font_files)
    margin = round(min(big) * 0.035)
    canvas.paste(label, (margin, big[1] - margin - label.height), label)
    return canvas.resize(size, Image.Resampling.LANCZOS)


def render_image(
    prompt: str,
    *,
    aspect_ratio: str = "1:1",
    seed: int = 0,
    image_format: str = "png",
    font_files: tuple[str, ...] = BOLD_FONT_FILES,
) -> MediaFile:
    """One image for the prompt at the aspect's size, PNG or WebP; same arguments, same bytes."""
    text = _check_prompt(prompt)
    size = _check_aspect(aspect_ratio)
    _check_format(image_format)
    picture = _image(_drawable(text, font_files) or FOOTER_LABEL, size, seed, font_files, text)
    out = io.BytesIO()
    if image_format == "webp":
        picture.save(out, "WEBP", quality=88, method=4)
    else:
        picture.save(out, "PNG", optimize=False, compress_level=6)
    return MediaFile(
        content=out.getvalue(), content_type=IMAGE_CONTENT_TYPES[image_format], width=size[0], height=size[1]
    )


# ----- video --------------------------------------------------------------------------------


def video_size(aspect_ratio: str, scale: float = VIDEO_SCALE) -> tuple[int, int]:
    """The frame size of a video for `aspect_ratio`: even numbers, as yuv420p needs."""
    width, height = _check_aspect(aspect_ratio)
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


@dataclass
class _Sprite:
    image: Image.Image
    centre: tuple[float, float]
    reach: tuple[float, float]
    speed: tuple[float, float]
    phase: float
    spin: float  # degrees per second; only squares spin, circles look the same at any angle
    turns: dict[int, Image.Image]


def _sprite(palette: Palette, unit: int, rng: random.Random) -> tuple[str, Image.Image]:
    kind = rng.choice(("glow", "ring", "square", "dot"))
    colour = rng.choice(palette.accents)
    side = round(unit * rng.uniform(0.12, 0.3))
    pad = side // 4
    image = Image.new("RGBA", (side + 2 * pad, side + 2 * pad), (*colour, 0))
    draw = ImageDraw.Draw(image)
    box = (pad, pad, pad + side, pad + side)
    if kind == "ring":
        draw.ellipse(box, outline=(*colour, 200), width=max(3, side // 10))
    elif kind == "square":
        draw.rounded_rectangle(box, radius=side // 5, fill=(*colour, 190))
    elif kind == "dot":
        draw.ellipse(box, fill=(*colour, 220))
    else:
        draw.ellipse(box, fill=(*colour, 150))
        return kind, image.filter(ImageFilter.GaussianBlur(pad * 0.8))
    # A slight blur stands in for anti-aliasing, which ImageDraw lacks.
    return kind, image.filter(ImageFilter.GaussianBlur(1))


def _turned(sprite: _Sprite, seconds: float) -> Image.Image:
    """The sprite at its angle for this moment, in 2° steps (a square repeats every 90°)."""
    if not sprite.spin:
        return sprite.image
    step = round(sprite.spin * seconds / 2) % 45
    if step not in sprite.turns:
        sprite.turns[step] = sprite.image.rotate(step * 2, resample=Image.Resampling.BILINEAR)
    return sprite.turns[step]


def _ease_out(x: float) -> float:
    x = max(0.0, min(1.0, x))
    return 1 - (1 - x) ** 3


def _video_frames(
    text: str,
    size: tuple[int, int],
    duration_s: float,
    fps: int,
    seed: int,
    font_files: tuple[str, ...],
    prompt: str,
) -> Iterator[Image.Image]:
    """Yield the frames of the clip as RGB images."""
    width, height = size
    unit = min(width, height)
    palette = palette_for(prompt, seed)
    rng = _rng(prompt, seed, "video")
    travel = (round(width * 0.3), round(height * 0.3))
    backdrop = _backdrop((width + travel[0], height + travel[1]), palette, rng)
    _shapes(backdrop, palette, rng)
    sprites = []
    for _ in range(rng.randint(4, 7)):
        kind, image = _sprite(palette, unit, rng)
        sprites.append(
            _Sprite(
                image=image,
                centre=(rng.uniform(0.1, 0.9) * width, rng.uniform(0.1, 0.9) * height),
                reach=(rng.uniform(0.1, 0.35) * width, rng.uniform(0.08, 0.3) * height),
                speed=(rng.uniform(0.15, 0.5), rng.uniform(0.15, 0.5)),
                phase=rng.uniform(0, math.tau),
                spin=rng.choice((-1, 1)) * rng.uniform(20, 70) if kind == "square" else 0.0,
                turns={},
            )
        )
    panel_w = round(width * (0.62 if width > height else 0.84))
    panel = _text_panel(text, panel_w, round(height * 0.42), palette, font_files)
    panel_rgb, panel_alpha = panel.convert("RGB"), panel.getchannel("A")
    panel_x, panel_y = (width - panel_w) // 2, round((height - panel.height) * 0.55)
    label = _footer(FOOTER_LABEL, round(unit * 0.024), palette, font_files)
    margin = round(unit * 0.04)
    bar_y = height - max(3, round(unit * 0.008))
    total = max(1, round(duration_s * fps))
    for index in range(total):
        t = index / fps
        drift = t / duration_s * math.tau
        left = round(travel[0] * (0.5 + 0.5 * math.sin(drift + 0.7)))
        top = round(travel[1] * (0.5 + 0.5 * math.cos(drift * 0.5)))
        frame = backdrop.crop((left, top, left + width, top + height))
        for sprite in sprites:
            image = _turned(sprite, t)
            x = sprite.centre[0] + sprite.reach[0] * math.sin(math.tau * sprite.speed[0] * t + sprite.phase)
            y = sprite.centre[1] + sprite.reach[1] * math.cos(math.tau * sprite.speed[1] * t + sprite.phase)
            frame.paste(image, (round(x - image.width / 2), round(y - image.height / 2)), image)
        appear = _ease_out((t - 0.1) / 0.7)
        float_y = math.sin(math.tau * t / 3) * unit * 0.006
        y = round(panel_y + (1 - appear) * height * 0.06 + float_y)
        mask = panel_alpha if appear >= 1 else panel_alpha.point(lambda v, k=appear: round(v * k))
        frame.paste(panel_rgb, (panel_x, y), mask)
        frame.paste(label, (margin, height - margin - label.height), label)
        progress = round(width * (index + 1) / total)
        ImageDraw.Draw(frame).rectangle((0, bar_y, progress, height), fill=palette.accents[0])
        yield frame


def render_video(
    prompt: str,
    *,
    aspect_ratio: str = "9:16",
    duration_s: float = 5,
    seed: int = 0,
    fps: int = VIDEO_FPS,
    scale: float = VIDEO_SCALE,
    font_files: tuple[str, ...] = BOLD_FONT_FILES,
    codec: str = VIDEO_CODEC,
) -> MediaFile:
    """An H.264 MP4 (yuv420p, faststart) of `duration_s` seconds for the prompt."""
    text = _check_prompt(prompt)
    size = video_size(aspect_ratio, scale)
    if not 1 <= duration_s <= MAX_VIDEO_SECONDS:
        raise BadInput(f"Choose a duration between 1 and {MAX_VIDEO_SECONDS} seconds.")
    title = _drawable(text, font_files) or FOOTER_LABEL
    frames = _video_frames(title, size, duration_s, fps, seed, font_files, text)
    with tempfile.TemporaryDirectory(prefix="assetry-offline-") as folder:
        path = Path(folder) / "clip.mp4"
        try:
            _encode(frames, path, size, fps, codec)
        except (av.FFmpegError, ValueError) as error:
            log.exception("offline video encoder %r failed (%s, %ss)", codec, aspect_ratio, duration_s)
            raise ProviderError(
                "The offline preview video could not be encoded on this server; try again later."
            ) from error
        content = path.read_bytes()
    return MediaFile(
        content=content,
        content_type="video/mp4",
        width=size[0],
        height=size[1],
        duration_s=max(1, round(duration_s * fps)) / fps,
    )


def _encode(frames: Iterable[Image.Image], path: Path, size: tuple[int, int], fps: int, codec: str) -> None:
    # The file goes to disk, not memory: +faststart rewrites it to put the index first.
    with av.open(str(path), "w", format="mp4", container_options={"movflags": "+faststart"}) as container:
        options = {"preset": "veryfast", "crf": "23", "profile": "high"} if codec == "libx264" else {}
        stream = container.add_stream(codec, rate=fps, options=options)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        time_base = Fraction(1, fps)
        for index, image in enumerate(frames):
            frame = av.VideoFrame.from_image(image)
            frame.pts, frame.time_base = index, time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


# ----- captions -----------------------------------------------------------------------------

_STOP_WORDS = frozenset(
    _words(
        """a an the and or but of in on at to for from with by into onto over under about as is are
    was were be been being it its this that these those my your our their his her me you we they
    i he she them us so very really just some any all more most no not only than then there here
    what which who whom how when where why can will would should could do does did has have had
    make made show showing shows create generate image video clip photo picture shot footage
    style render rendering cinematic hyperrealistic photorealistic realistic ultra detailed highly
    high quality 4k 8k hd uhd hdr resolution trending artstation octane unreal engine aspect ratio
    vertical horizontal format background featuring feature"""
    )
)

_HOOKS: dict[str, tuple[str, ...]] = {
    "friendly": (
        "Say hi to {topic}!",
        "A little {topic} to brighten your day",
        "Made this for you: {topic}",
        "Can we talk about {topic} for a sec?",
        "Your daily dose of {topic}",
        "Sharing some {topic} love today",
        "{Topic}, because you deserve something nice",
        "Just a happy little {topic} moment",
    ),
    "bold": (
        "{Topic}. No compromises.",
        "This is what {topic} should look like.",
        "Stop scrolling: {topic}.",
        "{Topic}, turned all the way up.",
        "Forget everything you know about {topic}.",
        "We don't do ordinary. {Topic}.",
        "{Topic} just raised the bar.",
        "Big energy only: {topic}.",
    ),
    "funny": (
        "Me: I'll make one quick thing. Also me: {topic}.",
        "Nobody asked for {topic}. You're welcome.",
        'POV: you said "how hard can {topic} be?"',
        "{Topic}, but make it dramatic.",
        "My screen time report says {topic}. No regrets.",
        "Plot twist: {topic}.",
        "Tell me you love {topic} without telling me.",
        "{Topic} and I are in a committed relationship now.",
    ),
    "informative": (
        "Here's a quick look at {topic}.",
        "{Topic}, explained in seconds.",
        "Three things to notice in {topic}.",
        "What makes {topic} work?",
        "A closer look at {topic}.",
        "Behind the scenes: {topic}.",
        "{Topic}: a short breakdown.",
        "How {topic} comes together.",
    ),
}
_BODIES: dict[str, tuple[str, ...]] = {
    "friendly": (
        "I had so much fun putting this together.",
        "It came out even better than I hoped.",
        "This one made me smile the whole time.",
        "Hope it makes your scroll a little nicer.",
        "Tiny project, big joy.",
        "Honestly one of my favourites so far.",
    ),
    "bold": (
        "Every detail is on purpose.",
        "No filler, no shortcuts.",
        "Made to be watched twice.",
        "This is the standard now.",
        "Loud colours, clear idea.",
        "Built to stop thumbs mid-scroll.",
    ),
    "funny": (
        "I regret nothing. Okay, maybe one thing.",
        "My coffee went cold for this.",
        "Ten out of ten, would overthink again.",
        "The group chat is not ready.",
        "I showed my cat and she left the room.",
        "Somehow this took longer than my taxes.",
    ),
    "informative": (
        "Notice how the colours guide your eye to the subject.",
        "The composition keeps the main idea front and centre.",
        "Contrast and movement do most of the storytelling here.",
        "Simple shapes make the message easy to read at a glance.",
        "The pacing gives each element time to land.",
        "A limited palette keeps the whole piece consistent.",
    ),
}
_DETAILS: dict[str, tuple[str, ...]] = {
    "friendly": (
        "It took a few tries to get the colours just right, but it was worth every one.",
        "I kept it simple so the idea could shine on its own.",
        "Made with a lot of love and slightly too many snacks.",
        "If it makes even one person smile today, mission accomplished.",
    ),
    "bold": (
        "We pushed the colours, the motion and the framing until nothing felt safe.",
        "Every frame earns its place, and nothing is there by accident.",
        "This is what happens when you stop playing it small.",
        "The goal was simple: impossible to ignore.",
    ),
    "funny": (
        "At one point I named every shape. They have personalities now. It's a whole thing.",
        "I told myself five more minutes about three hours ago.",
        "If this flops I'm blaming the algorithm and also Mercury.",
        "My mum liked it, so technically it's already a hit.",
    ),
    "informative": (
        "The background moves slowly so the text stays easy to read, while the shapes add energy.",
        "Keeping one accent colour ties the foreground to the background.",
        "Short, readable lines work best on a phone screen held at arm's length.",
        "Vertical framing fills the screen, so nothing competes with the subject.",
    ),
}
_CALLS: dict[str, tuple[str, ...]] = {
    "friendly": (
        "Tell me what you think in the comments!",
        "Save it for later and share it with a friend.",
        "Which part is your favourite?",
        "Follow along for more like this.",
    ),
    "bold": (
        "Follow for more. You won't want to miss the next one.",
        "Share it with someone who needs to see this.",
        "Save it. Study it. Then go make yours.",
        "Drop a comment if you're in.",
    ),
    "funny": (
        "Comment your honest rating, I can take it (I cannot take it).",
        "Send this to the friend who would do the same.",
        "Follow for more questionable decisions.",
        "Like if you also need a nap now.",
    ),
    "informative": (
        "Save this for your next project.",
        "Follow for more quick breakdowns.",
        "Which tip will you try first? Tell me below.",
        "Share it with a creator who'd find it useful.",
    ),
}
_TONE_EMOJI: dict[str, tuple[str, ...]] = {
    "friendly": ("😊", "✨", "💛", "🌈"),
    "bold": ("🔥", "⚡", "💥", "🚀"),
    "funny": ("😂", "🤪", "🙃", "💀"),
    "informative": ("💡", "📌", "👉", "📊"),
}
_FALLBACK_TAGS = ("creator", "shortform", "newpost")
_HASHTAGS_PER_LENGTH = {"short": 3, "medium": 4, "long": 6}


def _is_emoji(char: str) -> bool:
    return ord(char) >= 0x2600 and unicodedata.category(char) == "So"


@dataclass(frozen=True)
class _Habits:
    """What the creator's example captions do, to write the same way."""

    emoji: tuple[str, ...] | None  # None: no examples, use the tone's; (): they use none
    hashtags: tuple[str, ...]
    lowercase: bool
    line_breaks: bool


def _habits(examples: Sequence[str]) -> _Habits:
    examples = [e for e in examples if e.strip()]
    if not examples:
        return _Habits(emoji=None, hashtags=(), lowercase=False, line_breaks=False)
    emoji = Counter(char for example in examples for char in example if _is_emoji(char))
    tags = Counter(tag.lower() for example in examples for tag in re.findall(r"#([^\W_][\w]*)", example))
    letters = [char for example in examples for char in re.sub(r"#\w+", "", example) if char.isalpha()]
    return _Habits(
        emoji=tuple(char for char, _ in emoji.most_common(3)),
        hashtags=tuple(tag for tag, _ in tags.most_common(2)),
        lowercase=bool(letters) and not any(char.isupper() for char in letters),
        line_breaks=any("\n" in example.strip() for example in examples),
    )


_MEDIUM_PREFIX = re.compile(
    r"^(?:(?:a|an|the)\s+)?(?:[\w-]+\s+){0,3}?"
    r"(?:shot|video|photo|photograph|image|picture|clip|footage|render|illustration|painting|reel)"
    r"\s+of\s+",
    re.IGNORECASE,
)


_JOINING_WORDS = frozenset(
    _words("in on at with for during under over near by from while and or into through across")
)


def _topic(text: str) -> str:
    """A short phrase naming what the prompt is about, to put in a sentence."""
    clause = re.split(r"[,;.:!?|\n]| - | — ", text, maxsplit=1)[0].strip()
    clause = _MEDIUM_PREFIX.sub("", clause) or clause
    words: list[str] = []
    for word in clause.split():
        if len(" ".join([*words, word])) > 48:
            # Cut before the last joining word rather than mid-phrase ("… in the park on a sunny").
            joins = [i for i, w in enumerate(words) if i >= 2 and w.lower() in _JOINING_WORDS]
            words = words[: joins[-1]] if joins else words
            break
        words.append(word)
    topic = (" ".join(words) or clause[:48]).rstrip(" -—'\"")
    # "Morning coffee" → "morning coffee" mid-sentence; leave "NYC" and "iPhone" alone.
    first = topic.split(" ", 1)[0] if topic else ""
    if first[:1].isupper() and first[1:] == first[1:].lower():
        topic = topic[:1].lower() + topic[1:]
    return topic or "this"


def _prompt_tags(text: str) -> list[str]:
    tags: list[str] = []
    for word in _words(text):
        if len(word) >= 3 and word not in _STOP_WORDS and not word.isdigit() and word not in tags:
            tags.append(word)
    return tags


def _compose(parts: list[str], emoji: str, tags: list[str], habits: _Habits, limit: int) -> str:
    """Join the sentences, emoji and hashtags, dropping from the end until within `limit`."""
    parts, tags = list(parts), list(tags)
    while True:
        # Every sentence but the last ends with punctuation, so they don't run together.
        body = " ".join([*(p if p[-1] in ".!?…" else f"{p}." for p in parts[:-1]), parts[-1]])
        if emoji:
            body = f"{body} {emoji}"
        if habits.lowercase:
            body = body.lower()
        hashtag_line = " ".join(f"#{tag}" for tag in tags)
        separator = "\n\n" if habits.line_breaks or len(parts) > 2 else " "
        caption = f"{body}{separator}{hashtag_line}" if hashtag_line else body
        if len(caption) <= limit:
            return caption
        if len(parts) > 1:
            parts.pop(-2 if len(parts) > 2 else -1)
        elif len(tags) > 1:
            tags.pop()
        else:
            return caption[: limit - 1].rstrip() + "…"


def write_captions(request: CaptionRequest) -> list[str]:
    """`request.count` distinct captions for the prompt, in its tone and length; deterministic."""
    text = _check_prompt(request.prompt)
    if request.tone not in TONES:
        raise BadInput("Choose a tone: friendly, bold, funny or informative.")
    if request.length not in CAPTION_LIMITS:
        raise BadInput("Choose a length: short, medium or long.")
    _check_count(request.count, MAX_CAPTIONS, "captions")
    tone, length, limit = request.tone, request.length, CAPTION_LIMITS[request.length]
    habits = _habits(request.examples)
    if request.hook not in hook_styles.CHOICES:
        raise BadInput(f"Pick a hook: {', '.join(hook_styles.CHOICES)}.")
    # The hook joins the salt only when one was asked for: "any" keeps the captions as they were.
    styled = [request.hook] if request.hook != hook_styles.ANY else []
    salt = "\x00".join(["captions", tone, length, str(request.hashtags), *styled, *request.examples])
    rng = _rng(text, 0, salt)
    topic = _topic(text)
    hooks, bodies, details, calls = (
        rng.sample(table[tone], len(table[tone])) for table in (_HOOKS, _BODIES, _DETAILS, _CALLS)
    )
    emoji_choices = _TONE_EMOJI[tone] if habits.emoji is None else habits.emoji
    tag_pool = [*habits.hashtags, *(t for t in _prompt_tags(text) if t not in habits.hashtags)]
    tag_pool = tag_pool or list(_FALLBACK_TAGS)
    wanted_tags = _HASHTAGS_PER_LENGTH[length]

    captions: list[str] = []
    for index in range(200):
        if len(captions) == request.count:
            break
        lap = index // len(hooks)
        if request.hook in hook_styles.BY_KEY:  # the style asked for: its templates, in turn
            templates = hook_styles.BY_KEY[request.hook].templates
            hook = templates[index % len(templates)]
        else:
            hook = hooks[index % len(hooks)]
        hook = hook.format(topic=topic, Topic=topic[:1].upper() + topic[1:])
        parts = [hook]
        if length == "short" and lap:
            parts.append(calls[(index + lap) % len(calls)])
        if length in ("medium", "long"):
            parts.append(bodies[(index + lap) % len(bodies)])
        if length == "long":
            parts += [details[(index + 2 * lap) % len(details)], calls[(index + 3 * lap) % len(calls)]]
        emoji = emoji_choices[(index + lap) % len(emoji_choices)] if emoji_choices else ""
        tags: list[str] = []
        if request.hashtags:
            keep = list(habits.hashtags)
            rest = [t for t in tag_pool if t not in keep]
            shift = index % len(rest) if rest else 0
            tags = (keep + rest[shift:] + rest[:shift])[: max(wanted_tags, len(keep))]
        caption = _compose(parts, emoji, tags, habits, limit)
        if caption not in captions:
            captions.append(caption)
    if len(captions) < request.count:
        raise BadInput(f"Only {len(captions)} different captions fit that prompt; ask for fewer.")
    return captions


# ----- the provider -------------------------------------------------------------------------


class OfflineProvider:
    """The studio's provider when no keys are configured: previews rendered on this machine."""

    name = "offline"

    def __init__(
        self,
        *,
        image_format: ImageFormat = "png",
        video_scale: float = VIDEO_SCALE,
        fps: int = VIDEO_FPS,
        font_files: tuple[str, ...] = BOLD_FONT_FILES,
        video_codec: str = VIDEO_CODEC,
    ) -> None:
        _check_format(image_format)
        self.image_format = image_format
        self.video_scale = video_scale
        self.fps = fps
        self.font_files = font_files
        self.video_codec = video_codec

    async def images(self, request: ImageRequest) -> list[MediaFile]:
        """`request.count` variations (seed, seed+1, …), rendered one after another in a thread.

        One at a time keeps memory bounded (each render holds a few 2×-size canvases); the
        job runner already runs several generations side by side.
        """
        _check_prompt(request.prompt)
        _check_aspect(request.aspect_ratio)
        _check_count(request.count, MAX_IMAGES, "images")
        seed = request.seed or 0
        return await asyncio.to_thread(self._render_images, request, seed)

    def _render_images(self, request: ImageRequest, seed: int) -> list[MediaFile]:
        return [
            render_image(
                request.prompt,
                aspect_ratio=request.aspect_ratio,
                seed=seed + offset,
                image_format=self.image_format,
                font_files=self.font_files,
            )
            for offset in range(request.count)
        ]

    async def video(self, request: VideoRequest) -> MediaFile:
        """The clip, encoded in a worker thread."""
        return await asyncio.to_thread(
            render_video,
            request.prompt,
            aspect_ratio=request.aspect_ratio,
            duration_s=request.duration_s,
            seed=request.seed or 0,
            fps=self.fps,
            scale=self.video_scale,
            font_files=self.font_files,
            codec=self.video_codec,
        )

    async def captions(self, request: CaptionRequest) -> list[str]:
        """Captions from templates; cheap, but still off the event loop."""
        return await asyncio.to_thread(write_captions, request)
