"""The caption prompt we send text models, and how their replies become exactly `count` captions."""

from __future__ import annotations

import json
import re

import pytest

from assetry.errors import BadInput, ProviderError
from assetry.integrations.captions import (
    LIMITS,
    CaptionPrompt,
    build_prompt,
    check_request,
    parse_reply,
    tidy,
    write_captions,
)
from assetry.integrations.generation import CaptionRequest


def request(**changes) -> CaptionRequest:
    fields = {"prompt": "My 5am gym routine", "model": "any-model"} | changes
    return CaptionRequest(**fields)


THREE = ["First one", "Second one", "Third one"]


@pytest.mark.parametrize(
    "reply",
    [
        json.dumps({"captions": THREE}),
        json.dumps(THREE),
        "```json\n" + json.dumps({"captions": THREE}) + "\n```",
        'Here you go:\n{"captions": ["First one", "Second one", "Third one"]}\nEnjoy!',
        json.dumps({"captions": [{"text": t} for t in THREE]}),
        "1. First one\n2. Second one\n3. Third one",
        "1) First one\n2) Second one\n3) Third one",
        "- First one\n- Second one\n* Third one",
        "Sure! Here are three:\n\n1. First one\n2. Second one\n3. Third one\n\nWant more?",
        "First one\n\nSecond one\n\nThird one",
    ],
    ids=[
        "json-object",
        "json-list",
        "fenced",
        "json-in-chatter",
        "json-dicts",
        "numbered-dot",
        "numbered-paren",
        "bullets",
        "chatty-numbered",
        "paragraphs",
    ],
)
def test_every_reply_shape_gives_the_same_captions(reply: str) -> None:
    assert [tidy(item, request()) for item in parse_reply(reply)] == THREE


def test_a_numbered_script_keeps_its_lines_and_paragraphs() -> None:
    reply = "1. Hook: wake up at 5\nBeat one\n\nBeat two\n2. Another script\nIts beat"
    assert parse_reply(reply, kind="script") == [
        "Hook: wake up at 5\nBeat one\n\nBeat two",
        "Another script\nIts beat",
    ]


def test_a_caption_list_drops_the_chatter_after_it() -> None:
    assert parse_reply("1. One\n2. Two\n\nLet me know if you want more!") == ["One", "Two"]


def test_tidy_removes_labels_quotes_and_markers() -> None:
    assert tidy('Caption 1: "Rise and grind"', request()) == "Rise and grind"
    assert tidy("“Rise and grind”", request()) == "Rise and grind"


def test_hashtags_are_removed_when_not_asked_for_and_kept_when_asked() -> None:
    text = "Leg day again #gym #fitness  done"
    assert tidy(text, request(hashtags=False)) == "Leg day again done"
    assert tidy(text, request(hashtags=True)) == "Leg day again #gym #fitness done"
    assert "#" not in tidy(text, request(kind="hook", hashtags=True))


def test_an_overlong_caption_is_cut_at_a_word_within_the_platform_limit() -> None:
    caption = tidy("word " * 1_000, request())
    assert len(caption) <= LIMITS["caption"] == 2_200
    assert caption.endswith("word…")
    assert len(tidy("long hook " * 40, request(kind="hook"))) <= 150


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"prompt": "   "}, "Describe the video first"),
        ({"prompt": "x" * 2_001}, "Keep the idea under 2,000 characters (it has 2,001)"),
        ({"count": 0}, "between 1 and 10"),
        ({"count": 11}, "between 1 and 10"),
        ({"tone": ""}, "Describe the tone"),
        ({"tone": "a" * 41}, "Describe the tone"),
        ({"kind": "poem"}, "Choose captions, hooks or a script"),
        ({"length": "epic"}, "Choose a short, medium or long length"),
    ],
)
def test_requests_no_model_should_get_are_refused_with_a_reason(changes: dict, message: str) -> None:
    with pytest.raises(BadInput, match=re.escape(message)):
        check_request(request(**changes))


def test_the_prompt_carries_tone_length_hashtags_examples_and_count() -> None:
    prompt = build_prompt(
        request(tone="bold", length="medium", examples=["  Best post ever 🔥  ", "", "Second best"]), count=4
    )
    assert "Tone: bold." in prompt.system
    assert "two to four sentences" in prompt.system
    assert "End each caption with 3 to 5 relevant hashtags." in prompt.system
    assert 'exactly this shape: {"captions": [' in prompt.system
    assert "exactly 4 captions" in prompt.system
    assert "Write like the creator's best-performing posts" in prompt.system
    assert prompt.user.startswith("My 5am gym routine")
    assert "<example>\nBest post ever 🔥\n</example>" in prompt.user
    assert "<example>\nSecond best\n</example>" in prompt.user
    assert prompt.user.count("<example>") == 2
    assert prompt.json_schema["properties"]["captions"]["items"] == {"type": "string"}


def test_without_examples_the_prompt_does_not_mention_them() -> None:
    prompt = build_prompt(request(hashtags=False), count=3)
    assert "best-performing" not in prompt.system + prompt.user
    assert "Do not use hashtags." in prompt.system


def test_hooks_and_scripts_are_asked_for_by_name() -> None:
    hooks = build_prompt(request(kind="hook"), count=2)
    script = build_prompt(request(kind="script", length="long"), count=1)
    assert hooks.list_key == "hooks" and "first three seconds" in hooks.system
    assert script.list_key == "scripts" and "60 to 90 seconds spoken" in script.system
    assert script.max_tokens > hooks.max_tokens


async def test_a_short_reply_is_topped_up_once_without_repeats() -> None:
    asked: list[CaptionPrompt] = []

    async def model(prompt: CaptionPrompt) -> str:
        asked.append(prompt)
        return "1. One\n2. Two" if len(asked) == 1 else "1. Two\n2. Three"

    assert await write_captions(request(count=3), model) == ["One", "Two", "Three"]
    assert [p.count for p in asked] == [3, 1]
    assert "Already written, so do not repeat these:\n- One\n- Two" in asked[1].user


async def test_extra_captions_are_dropped_to_the_count_asked() -> None:
    async def model(prompt: CaptionPrompt) -> str:
        return json.dumps({"captions": ["A", "B", "C", "D"]})

    assert await write_captions(request(count=2), model) == ["A", "B"]


async def test_a_model_that_keeps_writing_too_few_is_a_provider_error() -> None:
    async def model(prompt: CaptionPrompt) -> str:
        return '{"captions": ["Only", "   ", "only"]}'

    with pytest.raises(ProviderError) as failure:
        await write_captions(request(count=3), model)
    assert str(failure.value) == "The model wrote 1 of the 3 captions asked for. Try again."


async def test_bad_input_never_reaches_the_model() -> None:
    async def model(prompt: CaptionPrompt) -> str:
        raise AssertionError("the model was asked")

    with pytest.raises(BadInput):
        await write_captions(request(prompt=""), model)


def test_a_hook_style_is_asked_for_and_any_asks_for_none() -> None:
    asked = build_prompt(request(hook="question"), count=2)
    assert "Hook: each one must open with a question to the viewer." in asked.system
    assert "Hook:" not in build_prompt(request(), count=2).system
    with pytest.raises(BadInput, match="Pick a hook"):
        check_request(request(hook="clickbait"))
