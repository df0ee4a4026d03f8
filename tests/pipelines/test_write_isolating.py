"""The sink's answer to a refused request: split until the refused records are alone."""

from __future__ import annotations

import pytest

from gaitstream.pipelines.sink.influx import PermanentWriteError, SinkFault, WriteErrorPolicy, write_isolating


class Database:
    """Refuses a whole request when any line is bad, as InfluxDB 2.x does; stores the rest."""

    def __init__(self) -> None:
        self.stored: list[str] = []
        self.requests = 0

    def write(self, lines: list[str]) -> None:
        self.requests += 1
        bad = [line for line in lines if "bad" in line]
        if bad:
            raise PermanentWriteError(400, f"unable to parse '{bad[0]}'")
        self.stored.extend(lines)


def _entries(n: int, bad: set[int]) -> list[tuple[str, list[str]]]:
    return [(f"r{i}", [f"{'bad' if i in bad else 'ok'}{i}a", f"{'bad' if i in bad else 'ok'}{i}b"]) for i in range(n)]


def test_one_refused_record_costs_no_other_record_anything() -> None:
    db = Database()
    result = write_isolating(_entries(500, {137}), db.write)
    assert [record for record, _ in result.refused] == ["r137"]
    assert "unable to parse 'bad137a'" in result.refused[0][1]
    assert len(db.stored) == 2 * 499 and len(set(db.stored)) == 998
    assert result.requests == db.requests <= 2 * 9 + 1  # about 2 log2(500)


def test_several_refused_records_each_isolated_and_the_rest_stored_in_order() -> None:
    db = Database()
    result = write_isolating(_entries(64, {0, 5, 6, 63}), db.write)
    assert sorted(record for record, _ in result.refused) == ["r0", "r5", "r6", "r63"]
    good = [line for i in range(64) if i not in {0, 5, 6, 63} for line in (f"ok{i}a", f"ok{i}b")]
    assert db.stored == good  # the first half is written before the second


def test_a_clean_batch_is_one_request_and_records_without_lines_cost_none() -> None:
    db = Database()
    result = write_isolating([*_entries(10, set()), ("empty", [])], db.write)
    assert result.refused == [] and result.requests == 1 and len(db.stored) == 20
    assert write_isolating([("empty", [])], db.write).requests == 0


def test_a_sink_fault_propagates_with_nothing_isolated() -> None:
    def refuse_token(lines: list[str]) -> None:
        raise SinkFault(401, "unauthorized access")

    with pytest.raises(SinkFault, match="HTTP 401"):
        write_isolating(_entries(4, set()), refuse_token)


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, PermanentWriteError), (413, PermanentWriteError), (422, PermanentWriteError), (401, SinkFault)]
    + [(403, SinkFault), (404, SinkFault), (429, None), (500, None), (503, None)],
)
def test_the_error_policy_says_what_each_answer_means(status: int, error) -> None:
    got = WriteErrorPolicy().error_for(status, "body")
    assert (None if got is None else type(got)) is error


def test_the_error_policy_is_passed_in() -> None:
    lenient = WriteErrorPolicy(fault_statuses=frozenset({401, 403}))
    assert lenient.error_for(404, "bucket not found") is None  # e.g. a bucket created later by hand
