"""Python's cyclic garbage collector in a long-running worker (PipelineSettings.gc_thresholds)."""

from __future__ import annotations

import gc


def tune_garbage_collector(thresholds: tuple[int, int, int]) -> int:
    """Freeze what exists now (modules, the app, its topics and tables: never garbage, no longer
    walked by full collections) and set the collection thresholds; returns the frozen count."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)
    return gc.get_freeze_count()
