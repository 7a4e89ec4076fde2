"""Captions, hooks and scripts from a text model: the prompt we send and how we read the reply.

Shared by the Gemini and Anthropic integrations, which only differ in how they ask.
We ask for JSON (`{"captions": ["…", "…"]}`, the key named after the kind) and
read the reply robustly: JSON anywhere in the text (fenced or not), else a
numbered or bulleted list, else paragraphs. Items are cleaned (quotes, list
markers, labels), hashtags are removed where they were not asked for, each item
is cut to the platform limit, duplicates and empties are dropped, and if the
model wrote too few we ask once more for the rest.

Errors: `BadInput` for a request the creator can fix (empty or oversized idea,
count out of range, odd tone); `ProviderError` when the model still wrote too few.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from assetry.errors import BadInput, ProviderError
from assetry.integrations import hooks
from assetry.integrations.generation import CaptionRequest

MAX_IDEA_CHARS = 2_000
MAX_COUNT = 10
MAX_TONE_CHARS = 40
# The creator's best posts we show the model, and how much of each.
MAX_EXAMPLES = 5
MAX_EXAMPLE_CHARS = 600
# Longest text we hand back per kind: Instagram and TikTok captions stop at 2,200 characters.
LIMITS = {"caption": 2_200, "hook": 150, "script": 2_200}

_KINDS = {
    "caption": ("captions", "a caption to post with the video"),
    "hook": (
        "hooks",
        "a hook: the line said or shown in the first three seconds of the video to stop the scroll; "
        "one sentence of at most 150 characters",
    ),
    "script": (
        "scripts",
        "a spoken script for the video: a hook line, three to five short beats and a call to action, "
        "in plain text with a line break between beats",
    ),
}
_LENGTHS = {
    "caption": {
        "short": "one or two lines, under 150 characters",
        "medium": "two to four sentences, under 400 characters",
        "long": "a short story-style paragraph, under 1,200 characters",
    },
    "script": {
        "short": "15 to 30 seconds spoken (40 to 80 words)",
        "medium": "30 to 60 seconds spoken (80 to 150 words)",
        "long": "60 to 90 seconds spoken (150 to 230 words)",
    },
}
# Rough output budget per item, in characters (a token is about 3-4 characters).
_ITEM_CHARS = {"caption": {"short": 300, "medium": 700, "long": 1_600}, "hook": 200, "script": 1_600}


@dataclass(frozen=True)
class CaptionPrompt:
    """What we send a text model for one round of captions."""

    system: str
    user: str
    count: int
    list_key: str  # the JSON key the reply's list should sit under
    max_tokens: int  # enough for `count` items and the JSON around them

    @property
    def json_schema(self) -> dict[str, Any]:
        """The reply's shape as JSON Schema, for models that accept one."""
        return {
            "type": "object",
            "properties": {self.list_key: {"type": "array", "items": {"type": "string"}}},
            "required": [self.list_key],
        }


def check_request(request: CaptionRequest) -> None:
    """Refuse, with a message the creator can act on, a request no model should get."""
    idea = request.prompt.strip()
    if not idea:
        raise BadInput("Describe the video first: what is it about?")
    if len(idea) > MAX_IDEA_CHARS:
        raise BadInput(f"Keep the idea under {MAX_IDEA_CHARS:,} characters (it has {len(idea):,}).")
    if not 1 <= request.count <= MAX_COUNT:
        raise BadInput(f"Ask for between 1 and {MAX_COUNT} at a time.")
    tone = request.tone.strip()
    if not tone or len(tone) > MAX_TONE_CHARS or "\n" in tone:
        raise BadInput(f"Describe the tone in a few words (at most {MAX_TONE_CHARS} characters).")
    if request.kind not in _KINDS:
        raise BadInput("Choose captions, hooks or a script.")
    if request.hook not in hooks.CHOICES:
        raise BadInput(f"Pick a hook: {', '.join(hooks.CHOICES)}.")
    if request.kind != "hook" and request.length not in _LENGTHS["caption"]:
        raise BadInput("Choose a short, medium or long length.")


def _wants_hashtags(request: CaptionRequest) -> bool:
    return request.kind == "caption" and request.hashtags


def build_prompt(request: CaptionRequest, *, count: int, already: Sequence[str] = ()) -> CaptionPrompt:
    """The system and user messages asking for `count` more items, none like `already`."""
    plural, what = _KINDS[request.kind]
    rules = [
        "You write for one short-form video creator (TikTok, Instagram Reels, YouTube Shorts).",
        f"You write {plural}; each is {what}.",
        f"Tone: {request.tone.strip()}.",
    ]
    if request.kind in _LENGTHS:
        rules.append(f"Length of each: {_LENGTHS[request.kind][request.length]}.")
    if request.hook in hooks.BY_KEY and request.kind != "script":
        rules.append(f"Hook: each one must {hooks.BY_KEY[request.hook].instruction}.")
    if _wants_hashtags(request):
        rules.append("End each caption with 3 to 5 relevant hashtags.")
    else:
        rules.append("Do not use hashtags.")
    examples = [e.strip()[:MAX_EXAMPLE_CHARS] for e in request.examples if e.strip()][:MAX_EXAMPLES]
    if examples:
        rules.append(
            "Write like the creator's best-performing posts given below: match their voice, rhythm, "
            "emoji use and length, but never copy them."
        )
    rules.append("Make every one different. Write in the language of the creator's idea.")
    rules.append(
        f'Reply with JSON only, in exactly this shape: {{"{plural}": ["…", "…"]}}, '
        f"holding exactly {count} {plural if count != 1 else request.kind}. No commentary."
    )

    user = [request.prompt.strip()]
    if examples:
        user.append("Captions from my best-performing posts:")
        user.extend(f"<example>\n{example}\n</example>" for example in examples)
    if already:
        user.append(
            "\n".join(["Already written, so do not repeat these:", *(f"- {item}" for item in already)])
        )
    per_item = _ITEM_CHARS[request.kind]
    item_chars = per_item[request.length] if isinstance(per_item, dict) else per_item
    return CaptionPrompt(
        system="\n".join(rules),
        user="\n\n".join(user),
        count=count,
        list_key=plural,
        max_tokens=min(8_192, 256 + count * item_chars // 3),
    )


_MARKER = re.compile(r"^\s*(?:\d{1,2}[.):]|[-*•])\s+")
_LABEL = re.compile(r"^(?:caption|hook|script|option)\s*#?\d*\s*[:\-–]\s*", re.IGNORECASE)
_HASHTAG = re.compile(r"(?<![\w&])#\w+")
_QUOTES = {'"': '"', "“": "”", "'": "'", "«": "»"}


def _json_items(text: str) -> list[str] | None:
    starts = [i for i in (text.find("{"), text.find("[")) if i >= 0]
    end = max(text.rfind("}"), text.rfind("]"))
    if not starts or end < min(starts):
        return None
    try:
        data = json.loads(text[min(starts) : end + 1])
    except ValueError:
        return None
    if isinstance(data, dict):
        data = next((value for value in data.values() if isinstance(value, list)), None)
    if not isinstance(data, list):
        return None
    items = []
    for entry in data:
        if isinstance(entry, dict):
            entry = next((v for v in entry.values() if isinstance(v, str)), None)
        if isinstance(entry, str):
            items.append(entry)
    return items


def _listed_items(text: str, *, keep_paragraphs: bool) -> list[str]:
    lines = [line for line in text.splitlines() if not line.strip().startswith("```")]
    items: list[list[str]] = []
    current: list[str] | None = None
    for line in lines:
        if marker := _MARKER.match(line):
            current = [line[marker.end() :]]
            items.append(current)
        elif not line.strip() and not keep_paragraphs:
            current = None  # a blank line ends an item; what follows is chatter until the next number
        elif current is not None:
            current.append(line)
    if items:
        return ["\n".join(item) for item in items]
    if keep_paragraphs:
        return ["\n".join(lines)]
    return re.split(r"\n\s*\n", "\n".join(lines))


def parse_reply(text: str, *, kind: str = "caption") -> list[str]:
    """Every item in a model's reply, as written: JSON first, then a list, then paragraphs."""
    found = _json_items(text)
    if found is None:
        found = _listed_items(text, keep_paragraphs=kind == "script")
    return found


def _fit(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def tidy(item: str, request: CaptionRequest) -> str:
    """One item cleaned of list markers, labels, wrapping quotes and unwanted hashtags, within limits."""
    text = _MARKER.sub("", item.strip(), count=1)
    text = _LABEL.sub("", text).strip()
    if len(text) >= 2 and _QUOTES.get(text[0]) == text[-1]:
        text = text[1:-1].strip()
    if not _wants_hashtags(request):
        text = _HASHTAG.sub("", text)
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines()]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return _fit(text, LIMITS[request.kind])


async def write_captions(
    request: CaptionRequest, ask: Callable[[CaptionPrompt], Awaitable[str]]
) -> list[str]:
    """Exactly `request.count` distinct items, asking the model (`ask`) at most twice."""
    check_request(request)
    found: list[str] = []
    for _round in range(2):
        prompt = build_prompt(request, count=request.count - len(found), already=found)
        seen = {item.casefold() for item in found}
        for raw in parse_reply(await ask(prompt), kind=request.kind):
            item = tidy(raw, request)
            if item and item.casefold() not in seen:
                seen.add(item.casefold())
                found.append(item)
        if len(found) >= request.count:
            return found[: request.count]
    plural = _KINDS[request.kind][0]
    raise ProviderError(f"The model wrote {len(found)} of the {request.count} {plural} asked for. Try again.")
