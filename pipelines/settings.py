"""Pipeline worker settings (``GAITSTREAM_PIPELINE_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from gaitstream.settings import default_state_dir


class PipelineSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GAITSTREAM_PIPELINE_", extra="ignore")

    app_id: str = "gaitstream-pipeline"
    datadir: Path = Field(default_factory=lambda: default_state_dir() / "faust")
    # Each station's engine is checkpointed to the station-state table after this much data;
    # a restarted worker replays at most this much per station (offsets are acknowledged only
    # up to a checkpoint).
    # 5 s: at 2 s the checkpoints (a ~25 kB engine snapshot each, through the table's changelog)
    # cost a quarter of the worker's CPU at 100 stations (benchmarks/pipeline_load.py --capacity:
    # 67 -> 50 µs/sample from 2 s to 5 s, no further gain at 10 s). The price: offsets commit up to
    # 5 s of data late and a restarted worker replays up to 5 s per station (same steps, deduplicated).
    checkpoint_interval_s: float = 5.0
    # Each session's interval is stretched by up to this fraction (fixed by its id), so that
    # stations started together do not all checkpoint in the same batch (pipelines.checkpoints):
    # a session checkpoints every 5 to 7.5 s of data, and a restart replays up to that much.
    checkpoint_spread: float = Field(0.5, ge=0.0, le=1.0)
    # The live obliquity trace (20 Hz) is published after this much data per station, so the
    # drill-down view lags by about this much, whatever the checkpoint interval.
    trace_interval_s: float = 1.0
    # A session with a patient feedback screen (its start event has a feedback plan): the trace
    # feeds the screen's live pelvis indicator, so it goes out with every batch of frames.
    feedback_trace_interval_s: float = 0.0
    # track_gait takes the frames that are waiting, at most frame_batch_max, after at most
    # frame_batch_within_s, and feeds each station's consecutive frames to its engine in one push
    # (the engine's result does not depend on how the stream is cut): under load the per-frame
    # costs are shared, while a lightly loaded worker waits at most frame_batch_within_s more.
    # One worker's capacity at 0.1 s frames (benchmarks/pipeline_load.py --capacity): 82 µs/sample
    # frame by frame, 54 at 0.02 s, 42 at 0.05 s, 38 at 0.1 s; at 50 paced stations 0.05 s kept the
    # step-end -> InfluxDB p99 at 0.99 s (0.89 s after the calibration).
    # 0.02 s for the patient screens: a frame waits up to the window before its trace
    # goes to the screen; at 50 stations with screens (benchmarks/feedback_latency.py) 0.02 s and a
    # 5 ms producer linger took the station's send -> trace p50 from 0.05 to 0.035 s and the step and
    # live p99 down by 0.02-0.06 s, for 0.01-0.03 of a core; the capacity above fell from 42.6 to
    # 50 µs/sample (same hour). A deployment without screens can set 0.05 back.
    frame_batch_max: int = Field(1000, ge=1)
    frame_batch_within_s: float = Field(0.02, gt=0)
    # The sink's fetches: the broker answers once this much is waiting, or after fetch_max_wait_s
    # (50 ms). With the default of 1 byte a busy sink sent a fetch request for every few records
    # (4 % of the worker's CPU at 200 stations, py-spy); now a fetch is the sink's batching window.
    sink_fetch_min_bytes: int = Field(256 * 1024, ge=1)
    # Batches to InfluxDB: at most this many messages, or what arrives within this time of the
    # first (the fetch wait above already gathers; 50 ms here added 50 ms to p50 at 50 stations).
    sink_batch_messages: int = 500
    sink_batch_within_s: float = 0.01
    commit_interval_s: float = 1.0
    # Longest time the broker holds a fetch of the worker's consumer (Faust fixes 1.5 s; see
    # gaitstream.pipelines.app.shorten_fetch_wait).
    fetch_max_wait_s: float = Field(0.05, gt=0, le=1.5)
    producer_linger_s: float = 0.005
    # Python's cyclic garbage collector in the worker (gc.set_threshold): with the defaults
    # (700, 10, 10) its full collections walked Faust's and the tables' long-lived objects about
    # once a second, 80 ms each: 7.6 % of the worker's CPU at 100 stations (capacity run). The
    # objects that exist once the worker has started are frozen out of the collections
    # (gc.freeze), and young collections run less often; cycles are still collected.
    gc_thresholds: tuple[int, int, int] = (10_000, 50, 20)
    # How long the group waits for a silent (dead) worker before its stations move: short, so a
    # crashed worker's patients are back on screen within seconds.
    session_timeout_s: float = 10.0
    heartbeat_interval_s: float = 2.0
    # A message whose sample time is further than this from Kafka's record time is refused and
    # alerted (a clock in the wrong unit or reset; gaitstream.monitor.door).
    station_clock_tolerance_s: float = Field(3600.0, gt=0)
    # Faust's processing guarantee. at_least_once with the checkpoint ledger is what the tests
    # prove; exactly_once (Kafka transactions per partition) cost about 17 % more CPU when measured
    # against it and is not the default.
    processing_guarantee: Literal["at_least_once", "exactly_once"] = "at_least_once"
