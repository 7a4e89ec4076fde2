"""The build's chunk groups go into the vite.config.js Reflex writes, or the build stops and says why."""

from __future__ import annotations

import pytest

from assetry.web_bundle import group_chunks

REFLEX_GROUPS = """output: {
        codeSplitting: {
          groups: [
            {
              test: /env.json/,
              name: "reflex-env",
            },
          ],
        },
      },"""


def test_radix_and_the_icons_share_a_chunk_listed_before_reflexs_own_group() -> None:
    config = group_chunks(REFLEX_GROUPS)
    groups = config[config.index("groups: [") :]
    assert groups.index("@radix-ui|radix-ui|lucide-react") < groups.index('name: "ui"')
    assert groups.index('name: "ui"') < groups.index('name: "reflex-env"')
    assert config.count("groups: [") == 1


def test_a_config_without_reflexs_groups_is_refused() -> None:
    with pytest.raises(ValueError, match="Reflex changed it"):
        group_chunks("export default defineConfig({ build: {} })")
