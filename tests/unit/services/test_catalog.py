"""The provider catalog: the form offers only what each model allows, prices and retirements hold."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest

from assetry.config import Settings
from assetry.errors import BadInput
from assetry.services import catalog, studio

IN_USE = [m for m in catalog.MODELS if not m.retired()]
SETTING = {
    ("fal", catalog.IMAGE): "fal_image_model",
    ("fal", catalog.VIDEO): "fal_video_model",
    ("gemini", catalog.CAPTION): "gemini_caption_model",
    ("gemini", catalog.IMAGE): "gemini_image_model",
    ("anthropic", catalog.CAPTION): "anthropic_caption_model",
}
KEY = {"fal": "fal_key", "gemini": "gemini_api_key", "anthropic": "anthropic_api_key"}


def configured_with(model: catalog.ModelChoice) -> Settings:
    """Settings whose configuration selects this model (offline ones are always there)."""
    if model.offline:
        return Settings(_env_file=None)
    return Settings(
        _env_file=None, **{KEY[model.provider]: "k", SETTING[model.provider, model.kind]: model.model}
    )


def request(model: catalog.ModelChoice, **fields) -> studio.StudioRequest:
    return studio.StudioRequest(kind=model.kind, prompt="a paper boat", model_key=model.key, **fields)


@pytest.mark.parametrize("model", IN_USE, ids=lambda m: m.key)
def test_every_option_the_form_offers_is_accepted_and_priced(model: catalog.ModelChoice) -> None:
    settings = configured_with(model)
    assert model in catalog.choices(settings)
    offered = catalog.form_options(model)
    aspects = offered.aspects or ("9:16",)  # captions have no aspect ratio; the form hides the control
    durations = offered.durations or (5,)
    for aspect in aspects:
        for seconds in durations:
            for count in offered.counts:
                quote = studio.check(
                    settings, request(model, aspect_ratio=aspect, duration_s=seconds, count=count)
                )
                assert quote.cost_usd == model.cost(count=count, duration_s=seconds)


@pytest.mark.parametrize("model", IN_USE, ids=lambda m: m.key)
def test_the_form_never_offers_an_option_the_model_refuses(model: catalog.ModelChoice) -> None:
    offered = catalog.form_options(model)
    assert set(offered.aspects) <= set(model.aspects)
    assert set(offered.durations) <= set(model.durations)
    assert max(offered.counts) <= model.max_count
    settings = configured_with(model)
    if model.kind == catalog.CAPTION:
        return
    for aspect in sorted(set(catalog.ASPECTS) - set(offered.aspects)):
        seconds = (offered.durations or (5,))[0]
        with pytest.raises(BadInput, match=f"can't make {aspect}"):
            studio.check(settings, request(model, aspect_ratio=aspect, duration_s=seconds))
    if model.kind == catalog.VIDEO:
        for seconds in sorted(set(range(1, 11)) - set(offered.durations)):
            with pytest.raises(BadInput, match="makes videos of"):
                studio.check(settings, request(model, aspect_ratio=offered.aspects[0], duration_s=seconds))


def test_veo3_fast_is_what_fal_documents_and_priced_without_sound() -> None:
    veo = catalog.known("fal", "fal-ai/veo3/fast")
    offered = catalog.form_options(veo)
    assert (offered.aspects, offered.durations, offered.counts) == (("9:16", "16:9"), (4, 6, 8), (1,))
    assert veo.audio is False and (veo.price_usd, veo.audio_price_usd) == (0.10, 0.15)
    assert veo.cost(duration_s=8) == 0.8  # was $3.20 at the old $0.40 a second
    quote = studio.check(configured_with(veo), request(veo, aspect_ratio="9:16", duration_s=8))
    assert (quote.cost_usd, quote.typical_seconds) == (0.8, 96)  # the wait shown: 12 s per second of clip
    assert veo.source.url == "https://fal.ai/models/fal-ai/veo3/fast/llms.txt"


def test_the_default_models_are_in_the_catalog_and_not_retired() -> None:
    """A default past its shutdown date (gemini-2.5-flash was) fails here, not in a creator's request."""
    settings = Settings(_env_file=None, fal_key="k", gemini_api_key="k", anthropic_api_key="k")
    assert catalog.problems(settings) == []
    for provider, _, model in catalog.configured_models(settings):
        assert catalog.usable(provider, model) is not None, model


def test_every_entry_names_its_source_and_unconfirmed_facts_say_why() -> None:
    for model in catalog.MODELS:
        for source in (model.source, model.retirement_source):
            if source is not None:
                assert source.url and source.read_on <= date.today()
                assert source.confirmed or source.note, model.key
        if model.retires_on or model.deprecated_on:
            assert model.retirement_source is not None and model.replacement, model.key


def test_every_replacement_is_a_model_in_use_that_makes_the_same_thing() -> None:
    for model in catalog.MODELS:
        if model.replacement:
            successor = catalog.usable(model.provider, model.replacement)
            assert successor is not None and successor.deprecated_on is None, model.key
            assert successor.kind == model.kind, model.key


def test_a_deprecated_model_is_still_offered_and_doctor_names_its_successor() -> None:
    settings = Settings(_env_file=None, gemini_api_key="k", gemini_image_model="gemini-3.1-flash-image")
    assert "gemini-3.1-flash-image" in {choice.model for choice in catalog.choices(settings)}
    assert catalog.problems(settings) == [
        "GEMINI_IMAGE_MODEL=gemini-3.1-flash-image was deprecated on 2026-10-06 "
        "(https://ai.google.dev/gemini-api/docs/changelog) and may stop working; use gemini-nano-banana-2.1."
    ]


def test_ratios_the_provider_accepts_but_the_studio_does_not_show_are_refused_before_any_call() -> None:
    nano = catalog.known("gemini", "gemini-nano-banana-2.1")
    assert "4:5" in nano.aspects and catalog.form_options(nano).aspects == ("9:16", "1:1", "16:9")
    settings = configured_with(nano)
    with pytest.raises(BadInput, match="can't make 4:5; pick 9:16, 1:1, 16:9"):
        studio.check(settings, request(nano, aspect_ratio="4:5"))


def test_unknown_and_retired_models_are_not_offered_and_doctor_says_why() -> None:
    settings = Settings(
        _env_file=None,
        gemini_api_key="k",
        gemini_caption_model="gemini-2.5-flash",
        gemini_image_model="gemini-9-imaginary",
    )
    offered = {choice.model for choice in catalog.choices(settings)}
    assert "gemini-2.5-flash" not in offered and "gemini-9-imaginary" not in offered
    assert catalog.problems(settings) == [
        "GEMINI_CAPTION_MODEL=gemini-2.5-flash was shut down on 2026-12-01 "
        "(https://ai.google.dev/gemini-api/docs/deprecations); use gemini-3.5-flash-lite.",
        "GEMINI_IMAGE_MODEL=gemini-9-imaginary is not in the provider catalog, so the studio does not offer it.",
    ]


def test_a_model_stops_being_offered_on_its_retirement_date() -> None:
    veo = catalog.known("fal", "fal-ai/veo3/fast")
    retiring = dataclasses.replace(veo, retires_on=date(2027, 3, 1))
    assert not retiring.retired(date(2027, 2, 28))
    assert retiring.retired(date(2027, 3, 1))
    assert retiring.retired(date(2027, 3, 1) + timedelta(days=30))


def test_price_table_overrides_the_catalog_price() -> None:
    settings = Settings(_env_file=None, fal_key="k", price_table={"fal-ai/veo3/fast": 0.15})
    veo = next(c for c in catalog.choices(settings) if c.model == "fal-ai/veo3/fast")
    assert veo.cost(duration_s=4) == 0.6


def test_the_cheapest_clip_is_the_shortest_of_the_cheapest_video_model() -> None:
    model, seconds = catalog.cheapest_clip("fal")
    assert (model.model, seconds) == ("fal-ai/veo3/fast", 4)
