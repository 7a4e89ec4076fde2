"""What the app does once it has started, before serving anyone."""

from __future__ import annotations

import gc

from assetry.assetry import app, freeze_start_up_objects


def test_what_start_up_made_is_kept_out_of_the_garbage_collectors_passes() -> None:
    assert freeze_start_up_objects in app.get_lifespan_tasks()
    gc.unfreeze()
    try:
        freeze_start_up_objects()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
