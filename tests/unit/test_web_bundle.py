"""The build's chunk groups go into the vite.config.js Reflex writes, or the build stops and says why."""

from __future__ import annotations

import pytest
from reflex_base.registry import RegistrationContext

from assetry.web_bundle import group_chunks, route_module, unbundle

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


def test_the_ui_groups_come_before_reflexs_own_and_know_the_public_pages_routes() -> None:
    config = group_chunks('import { defineConfig } from "vite";\n' + REFLEX_GROUPS)
    groups = config[config.index("groups: [") :]
    assert (
        groups.index("name: publicUi.name")
        < groups.index('name: "ui-app"')
        < groups.index('name: "reflex-env"')
    )
    assert config.count("groups: [") == 1
    setup = config[: config.index("groups: [")]
    assert 'from "./ui-chunks.js"' in setup
    assert (
        '["root.jsx", "routes/_index.jsx", "routes/[login]._index.jsx", "routes/[signup]._index.jsx"]'
        in setup
    )


def test_a_page_is_its_route_module() -> None:
    assert route_module("/") == "routes/_index.jsx"
    assert route_module("/reset/") == "routes/[reset]._index.jsx"
    assert route_module("/signup/confirm") == "routes/[signup].[confirm]._index.jsx"


def test_a_config_without_reflexs_groups_is_refused() -> None:
    with pytest.raises(ValueError, match="Reflex changed it"):
        group_chunks("export default defineConfig({ build: {} })")


def test_radix_themes_leaves_the_libraries_handed_to_run_time_components() -> None:
    registry = RegistrationContext.ensure_context()
    saved = list(registry.bundled_libraries)
    try:
        registry.bundled_libraries[:] = ["react", "@radix-ui/themes", "$/utils/state"]
        unbundle("@radix-ui/themes")
        assert registry.bundled_libraries == ["react", "$/utils/state"]
    finally:
        registry.bundled_libraries[:] = saved


def test_a_library_the_app_bundled_itself_stays() -> None:
    registry = RegistrationContext.ensure_context()
    saved, explicit = list(registry.bundled_libraries), dict(registry._explicit_bundled_libraries)
    try:
        registry.bundled_libraries[:] = ["react", "@radix-ui/themes"]
        registry._explicit_bundled_libraries["@radix-ui/themes"] = None
        unbundle("@radix-ui/themes")
        assert registry.bundled_libraries == ["react", "@radix-ui/themes"]
    finally:
        registry.bundled_libraries[:] = saved
        registry._explicit_bundled_libraries.clear()
        registry._explicit_bundled_libraries.update(explicit)
