"""Where the creator opts into "Write like my best posts", the studio says where their captions go."""

from __future__ import annotations

from assetry.pages import studio


def test_the_opt_in_says_the_captions_go_to_the_provider_unless_the_model_is_offline() -> None:
    form = str(studio._form())  # the compiled page code the browser runs
    offline, provider = form.split("Write like my best posts")[1:3]
    assert "offline_model" in form.split("Write like my best posts")[0][-200:]
    assert "the offline preview keeps them on this server" in offline
    assert "sends the captions of your top connected posts, with your prompt, to the provider" in provider
