"""The faust-streaming / aiokafka internals of ``faust_adapter`` behave as the pinned versions do.

These fail when an upgrade moves or changes one of them: re-check the adapter (and the ledger's
reason for acknowledging in offset order) before changing the pins. The end-to-end tests use
them on the real broker.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import weakref
from collections import defaultdict
from types import SimpleNamespace

import faust
import pytest
from faust.streams import current_event as faust_current_event
from faust.types import TP

from gaitstream.pipelines import faust_adapter
from gaitstream.pipelines.faust_adapter import (
    PINNED,
    CheckpointTable,
    OwnReadsApp,
    ReadOffsets,
    TopicMirror,
    current_event,
    forget_gaps,
)


@pytest.mark.parametrize(("package", "version"), sorted(PINNED.items()))
def test_the_pinned_versions_are_installed(package, version):
    assert importlib.metadata.version(package) == version


def test_pyproject_pins_what_the_adapter_was_checked_against():
    text = faust_adapter.__file__.rsplit("/pipelines/", 1)[0] + "/pyproject.toml"
    pyproject = open(text, encoding="utf-8").read()
    for package, version in PINNED.items():
        assert f'"{package}=={version}"' in pyproject


class _Event:
    """Faust's events are weak-referenceable objects."""


def test_1_current_event_is_what_faust_table_writes_read():
    event = _Event()
    assert faust_current_event() is None
    with current_event(event):
        assert faust_current_event() is event
    assert faust_current_event() is None
    # A table write takes its changelog partition from that same context variable.
    source = inspect.getsource(faust.tables.base.Collection.partition_for_key)
    assert "current_event()" in source and "event.message.partition" in source


def test_2_3_4_app_attributes_exist():
    for name in (
        "flow_control",
        "consumer_generation_id",
        "assignor",
        "rebalancing",
        "in_recovery",
        "tables",
        "producer",
        "consumer",
    ):
        assert hasattr(faust.App, name), name
    from faust.assignor import PartitionAssignor

    assert callable(PartitionAssignor.assigned_actives)
    from faust.tables.recovery import Recovery

    assert "completed" in inspect.getsource(Recovery.__init__)


def test_5_faust_producer_wraps_an_aiokafka_producer():
    from faust.transport.drivers.aiokafka import Producer

    assert "_producer" in inspect.getsource(Producer)


def test_6_aiokafka_fetcher_reads_its_wait_when_it_builds_a_fetch():
    from aiokafka.consumer.fetcher import Fetcher

    source = inspect.getsource(Fetcher)
    assert "self._fetch_max_wait_ms = fetch_max_wait_ms" in source
    assert source.count("self._fetch_max_wait_ms") >= 2  # set once, read per request
    from faust.transport.drivers.aiokafka import ThreadedProducer  # noqa: F401  (module layout)

    assert "_fetcher" in inspect.getsource(__import__("aiokafka").consumer.consumer.AIOKafkaConsumer)


def test_7_table_send_changelog_returns_the_delivery():
    assert CheckpointTable.send_changelog is not faust.Table.send_changelog
    source = inspect.getsource(faust.tables.base.Collection.send_changelog)
    assert "return" in source and ("send_soon" in source or "send(" in source)


def test_8_global_table_changelog_name_is_overridable():
    assert hasattr(faust.GlobalTable, "_changelog_topic_name")
    assert "_changelog_topic" in inspect.getsource(faust.tables.base.Collection.__init__)
    assert issubclass(TopicMirror, faust.GlobalTable)


def test_9_faust_commits_past_one_unacknowledged_head_offset():
    """Documented in the adapter: why the ledger acknowledges in offset order. The committed
    offset is the next to read (31); with 31 unacknowledged and 32-34 acknowledged, 0.15.3 still
    commits 35; with 31 and 32 missing it waits."""
    from faust.transport.consumer import Consumer
    from intervaltree import IntervalTree

    tp = ("stations", 0)
    state = SimpleNamespace(
        _acked=defaultdict(list),
        _gap=defaultdict(IntervalTree),
        _committed_offset={tp: 31},
        _acked_index=defaultdict(set),
    )
    state._acked[tp] = [32, 33, 34]
    assert Consumer._new_offset(state, tp) == 35
    state._acked[tp] = [33, 34]
    assert Consumer._new_offset(state, tp) is None


def test_11_faust_commits_over_a_gap_of_skipped_offsets_and_forget_gaps_prevents_it():
    """The campaign's loss in miniature: committed 150, records 151-255 skipped by the fetcher (a
    gap), the agent acknowledges 150-152 only: 0.15.3's commits end at 256. Without the gap: 153."""
    from faust.transport.consumer import Consumer
    from intervaltree import IntervalTree

    tp = TP("stations", 0)

    def commits_until_done(*, forget: bool) -> int:
        state = SimpleNamespace(
            _acked=defaultdict(list),
            _gap=defaultdict(IntervalTree),
            _committed_offset={tp: 150},
            _acked_index=defaultdict(set),
        )
        state._gap[tp].addi(151, 256)
        if forget:
            forget_gaps(SimpleNamespace(consumer=state), "stations", 0)
        state._acked[tp] = [150, 151, 152]
        while (offset := Consumer._new_offset(state, tp)) is not None:
            state._committed_offset[tp] = offset  # what a successful commit records
        return state._committed_offset[tp]

    assert commits_until_done(forget=False) == 256  # 153-255 never acknowledged
    assert commits_until_done(forget=True) == 153
    assert "_add_gap" in inspect.getsource(Consumer._drain_messages)


def test_12_faust_reads_the_read_offset_once_per_record_and_the_stations_topic_has_none():
    """Faust binds the mapping's ``__getitem__`` when its drain loop starts and drops a record below
    the value; for the own-read topics the value is None (deliver, record no gap)."""
    from faust.transport.consumer import Consumer

    drain = inspect.getsource(Consumer._drain_messages)
    assert "get_read_offset = self._read_offset.__getitem__" in drain
    assert "r_offset is None or offset >= r_offset" in drain and "if gap > 1 and r_offset" in drain
    assert "def _new_consumer" in inspect.getsource(faust.App)

    offsets = ReadOffsets(frozenset({"stations"}))
    offsets[TP("stations", 4)] = 2978  # Faust's set_read_offset after a record fetched before a seek
    offsets[TP("changelog", 4)] = 17
    offsets.update({TP("stations", 1): 5})  # perform_seek's bulk update
    get = offsets.__getitem__
    assert get(TP("stations", 4)) is None and get(TP("stations", 1)) is None
    assert offsets.get(TP("stations", 4)) is None
    assert get(TP("changelog", 4)) == 17 and get(TP("changelog", 5)) is None


def test_12_the_app_gives_its_consumer_the_mapping():
    app = OwnReadsApp("adapter-test-12", broker="kafka://127.0.0.1:1")
    app.own_read_topics = frozenset({"stations"})
    consumer = app._new_consumer()
    assert isinstance(consumer._read_offset, ReadOffsets)
    assert consumer._read_offset.topics == {"stations"}


def test_current_event_keeps_only_a_weak_reference():
    event = _Event()
    with current_event(event):
        ref = faust.streams._current_event.get()
        assert isinstance(ref, weakref.ref) and ref() is event


def test_10_faust_drops_records_below_its_read_offset_and_seek_resets_it():
    """Why a partition must continue from the committed offset, and how the agent reads it again."""
    from faust.transport.consumer import Consumer

    drain = inspect.getsource(Consumer._drain_messages)
    assert "offset >= r_offset" in drain and "set_read_offset(tp, offset)" in drain  # later ones mark earlier read
    seek = inspect.getsource(Consumer.seek)
    assert "self._read_offset[" in seek  # seek re-reads
    assert "self._committed_offset = " in inspect.getsource(Consumer.__init__)
