"""The checkpoint ledger, driven deterministically: revocations mid-batch, failed writes and
produces, shared partitions, a stop (no Faust, no broker: deliveries are plain futures)."""

from __future__ import annotations

from concurrent.futures import Future

from gaitstream.pipelines.ledger import CheckpointLedger, contiguous_run

P0, P1 = ("stations", 0), ("stations", 1)


def done(exc: BaseException | None = None) -> Future:
    f: Future = Future()
    if exc is None:
        f.set_result(None)
    else:
        f.set_exception(exc)
    return f


def test_held_events_wait_for_their_checkpoint_write_then_go_in_offset_order():
    ledger = CheckpointLedger()
    batch = ledger.begin_batch()
    for offset in (10, 11, 12):
        ledger.hold(batch, "st-a", f"e{offset}", P0, offset, samples=10)
    assert ledger.held_samples("st-a") == 30 and ledger.take_ackable() == []
    write: Future = Future()
    assert ledger.checkpoint(batch, "st-a", write)
    assert ledger.take_ackable() == [] and ledger.held_samples("st-a") == 0
    write.set_result(None)
    assert ledger.take_ackable() == ["e10", "e11", "e12"]
    assert ledger.take_ackable() == [] and ledger.waiting() == 0


def test_a_busier_station_on_the_same_partition_never_commits_past_a_held_frame():
    """Station b checkpoints often, a rarely; they share partition 0. b's frames above a's held
    ones wait: Faust would otherwise commit past a's frames (see faust_adapter)."""
    ledger = CheckpointLedger()
    batch = ledger.begin_batch()
    ledger.hold(batch, "st-a", "a20", P0, 20)
    ledger.hold(batch, "st-b", "b21", P0, 21)
    ledger.hold(batch, "st-b", "b22", P0, 22)
    ledger.checkpoint(batch, "st-b", done())
    assert ledger.take_ackable() == []  # a20 is still only in a's live state
    ledger.hold(batch, "st-a", "a23", P0, 23)
    ledger.checkpoint(batch, "st-a", done())
    assert ledger.take_ackable() == ["a20", "b21", "b22", "a23"]


def test_records_of_a_partition_arrive_out_of_offset_order_and_still_go_in_order():
    """The agent processes a batch station by station: b's frames (odd offsets) are recorded after
    a's (even), and a's confirmation must not let Faust commit past b's held ones."""
    ledger = CheckpointLedger()
    batch = ledger.begin_batch()
    for offset in (10, 12, 14):
        ledger.hold(batch, "st-a", f"a{offset}", P0, offset)
    for offset in (11, 13):
        ledger.hold(batch, "st-b", f"b{offset}", P0, offset)
    ledger.checkpoint(batch, "st-a", done())
    assert ledger.take_ackable() == ["a10"]  # b11 is held: nothing above it
    ledger.checkpoint(batch, "st-b", done())
    assert ledger.take_ackable() == ["b11", "a12", "b13", "a14"]


def test_partitions_are_independent():
    ledger = CheckpointLedger()
    batch = ledger.begin_batch()
    ledger.hold(batch, "st-a", "a0", P0, 5)
    ledger.hold(batch, "st-c", "c0", P1, 7)
    ledger.checkpoint(batch, "st-c", done())
    assert ledger.take_ackable() == ["c0"]


def test_a_failed_changelog_write_is_never_acknowledged():
    ledger = CheckpointLedger()
    batch = ledger.begin_batch()
    ledger.hold(batch, "st-a", "e1", P0, 1)
    ledger.checkpoint(batch, "st-a", done(OSError("broker gone")))
    ledger.hold(batch, "st-a", "e2", P0, 2)
    ledger.checkpoint(batch, "st-a", done())
    assert ledger.take_ackable() == []  # e2 is stored, but e1 is not: replay both
    assert ledger.failures == [("st-a", "OSError('broker gone')")]


def test_a_failed_output_produce_keeps_its_inputs_unacknowledged():
    ledger = CheckpointLedger()
    batch = ledger.begin_batch()
    ledger.hold(batch, "st-a", "frame", P0, 3)
    ledger.output(batch, "st-a", done(RuntimeError("steps topic refused the record")))
    ledger.output(batch, "st-a", done())
    ledger.checkpoint(batch, "st-a", done())  # the state is stored, a step is not
    assert ledger.take_ackable() == []
    assert ledger.failures[0][0] == "st-a" and "steps topic" in ledger.failures[0][1]


def test_outputs_still_in_flight_hold_the_checkpoint_back():
    ledger = CheckpointLedger()
    batch = ledger.begin_batch()
    ledger.hold(batch, "st-a", "frame", P0, 3)
    step: Future = Future()
    ledger.output(batch, "st-a", step)
    ledger.checkpoint(batch, "st-a", done())
    assert ledger.take_ackable() == []
    step.set_result(None)
    assert ledger.take_ackable() == ["frame"]


def test_a_revocation_in_the_middle_of_a_batch():
    ledger = CheckpointLedger()
    first = ledger.begin_batch()
    ledger.hold(first, "st-a", "e1", P0, 1)
    write: Future = Future()
    ledger.checkpoint(first, "st-a", write)
    ledger.hold(first, "st-a", "e2", P0, 2)
    ledger.revoke()  # the rebalance, at some await of the batch
    assert ledger.interrupted(first)
    ledger.hold(first, "st-a", "e3", P0, 3)  # the batch goes on: nothing of it counts
    ledger.release(first, "dead", P0, 4)
    assert not ledger.checkpoint(first, "st-a", done())
    write.set_result(None)  # the old write lands after the revocation
    assert ledger.take_ackable() == [] and ledger.waiting() == 0
    # the partition comes back to this worker: the same offsets are replayed and held again
    second = ledger.begin_batch()
    for offset in (1, 2, 3):
        ledger.hold(second, "st-a", f"e{offset}", P0, offset)
    ledger.checkpoint(second, "st-a", done())
    assert ledger.take_ackable() == ["e1", "e2", "e3"]


def test_releases_are_acknowledged_in_their_turn():
    ledger = CheckpointLedger()
    batch = ledger.begin_batch()
    ledger.release(batch, "replay", P0, 1)
    ledger.hold(batch, "st-a", "frame", P0, 2)
    ledger.release(batch, "dead-letter", P0, 3)
    assert ledger.take_ackable() == ["replay"]
    ledger.checkpoint(batch, "st-a", done())
    assert ledger.take_ackable() == ["frame", "dead-letter"]


def test_a_stop_acknowledges_nothing_that_is_not_stored():
    ledger = CheckpointLedger()
    batch = ledger.begin_batch()
    ledger.hold(batch, "st-a", "stored", P0, 1)
    ledger.checkpoint(batch, "st-a", done())
    ledger.hold(batch, "st-a", "in-flight", P0, 2)
    ledger.checkpoint(batch, "st-a", Future())  # the worker stops before this write lands
    ledger.hold(batch, "st-a", "held", P0, 3)
    assert ledger.take_ackable() == ["stored"]
    assert ledger.waiting() == 2


def test_forgotten_stations_block_their_partition_until_the_revocation_replays_them():
    ledger = CheckpointLedger()
    batch = ledger.begin_batch()
    ledger.hold(batch, "st-a", "a1", P0, 1)
    ledger.forget("st-a")
    ledger.hold(batch, "st-b", "b2", P0, 2)
    ledger.checkpoint(batch, "st-b", done())
    assert ledger.take_ackable() == [] and not ledger.holds("st-a")


def test_a_message_delivered_again_keeps_its_first_record():
    """Faust may re-seek a partition it keeps (exactly_once) and deliver an offset again: the replay
    is skipped by the agent (sequence), and the first record still governs the acknowledgement."""
    ledger = CheckpointLedger()
    batch = ledger.begin_batch()
    ledger.hold(batch, "st-a", "e1", P0, 1)
    ledger.release(batch, "e1 again", P0, 1)
    ledger.hold(batch, "st-a", "e1 once more", P0, 1)
    assert ledger.redelivered == 2 and ledger.take_ackable() == []
    ledger.checkpoint(batch, "st-a", done())
    assert ledger.take_ackable() == ["e1"]


def test_a_dead_letter_is_acknowledged_once_stored():
    ledger = CheckpointLedger()
    batch = ledger.begin_batch()
    letter: Future = Future()
    ledger.release(batch, "bad frame", P0, 1, deliveries=(letter,))
    assert ledger.take_ackable() == []
    letter.set_result(None)
    assert ledger.take_ackable() == ["bad frame"]
    failed = done(OSError("dead-letter topic unavailable"))
    ledger.release(batch, "bad again", P0, 2, deliveries=(failed,))
    assert ledger.take_ackable() == [] and ledger.failures[-1][0] == "-"


def test_next_offset_follows_what_is_recorded_and_resets_at_a_revocation():
    ledger = CheckpointLedger()
    batch = ledger.begin_batch()
    assert ledger.next_offset(P0) is None
    ledger.hold(batch, "st-a", "e7", P0, 7)
    ledger.release(batch, "e5", P0, 5)
    assert ledger.next_offset(P0) == 8
    ledger.revoke()
    assert ledger.next_offset(P0) is None


def test_contiguous_run_stops_at_a_hole_and_skips_what_was_seen():
    """After a rebalance Faust may deliver 502 first although 501 (the committed offset) was never
    seen: nothing past the hole is processed, the partition is read again from 501."""
    assert contiguous_run([502, 503], 501) == ([], 501)
    assert contiguous_run([501, 502, 504], 501) == ([501, 502], 503)
    assert contiguous_run([499, 500, 501, 501, 502], 501) == ([501, 502], None)  # seen before, twice
    assert contiguous_run([9, 7, 8], None) == ([7, 8, 9], None)  # no commit yet
    assert contiguous_run([], 3) == ([], None)


def test_a_partition_is_stalled_only_when_the_broker_holds_records_past_the_next_offset_needed() -> None:
    from gaitstream.pipelines.ledger import stalled

    assert stalled(602, 1204)
    assert not stalled(602, 602)  # caught up: nothing waits
    assert not stalled(None, 1204)  # nothing known of the partition yet: Faust's seek decides
    assert not stalled(602, None)  # the end offset is unknown
