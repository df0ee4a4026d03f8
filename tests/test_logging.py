"""key=value lines: one call is one line of printable characters whatever the text, and
``parse_line`` gives every event, value and message back unchanged (property tests over any
Unicode text: controls, line separators, lone surrogates, quotes, backslashes, '=')."""

from __future__ import annotations

import io
import logging
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gaitstream.logging import KeyValueFormatter, ParsedLine, emit, kv, parse_line

KEYS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True)
# Any code point, surrogates included (a str can hold them; stderr's UTF-8 cannot).
TEXT = st.text(st.characters(codec=None, min_codepoint=0, max_codepoint=sys.maxunicode), max_size=40)
HOSTILE = st.text(st.sampled_from(['"', "\\", "=", " ", "\n", "\r", "\t", "\x00", "\x1b", "\x85", "\u2028", "a", "x"]))


def _one_printable_line(text: str) -> None:
    assert text.isprintable(), repr(text)  # no \n, \r, \x85, \u2028 ...: nothing a reader splits on
    assert len(text.splitlines()) == 1
    text.encode("utf-8")  # no lone surrogate reaches the stream


@given(event=TEXT | HOSTILE, fields=st.dictionaries(KEYS, TEXT | HOSTILE, max_size=5))
def test_kv_is_one_line_and_parses_back_to_event_and_values(event: str, fields: dict[str, str]) -> None:
    line = kv(event, **fields)
    _one_printable_line(line)
    assert parse_line(line) == ParsedLine(event=event, fields=tuple(fields.items()))


@given(value=st.one_of(st.integers(), st.floats(), st.none(), st.booleans(), TEXT))
def test_any_value_is_recovered_as_its_str(value: object) -> None:
    assert parse_line(kv("x", v=value)).get("v") == str(value)


@given(keys=st.lists(TEXT, min_size=1, max_size=4, unique=True), value=TEXT)
def test_any_key_is_made_an_identifier_and_the_line_stays_one_line(keys: list[str], value: str) -> None:
    line = kv("x", **dict.fromkeys(keys, value))
    _one_printable_line(line)
    parsed = parse_line(line)
    assert parsed.event == "x" and len(parsed.fields) == len(keys)
    for (key, got), original in zip(parsed.fields, keys, strict=True):
        assert key.isascii() and key.isidentifier() and got == value
        if original.isascii() and original.isidentifier():
            assert key == original


def test_a_forged_line_stays_inside_its_value() -> None:
    station = 'tm-01\nts=2026-01-01T00:00:00 level=error logger=x station_deleted station=tm-02 "'
    line = kv("session_start", station=station, clinic="c1")
    assert line == (
        'session_start station="tm-01\\nts=2026-01-01T00:00:00 level=error logger=x station_deleted '
        'station=tm-02 \\"" clinic=c1'
    )
    assert parse_line(line).fields == (("station", station), ("clinic", "c1"))


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        ("tm-01", "tm-01"),
        ("", '""'),
        ("a b", '"a b"'),
        ("a=b", '"a=b"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("C:\\temp", '"C:\\\\temp"'),
        ("a\r\nb\tc", '"a\\r\\nb\\tc"'),
        ("\x00\x1b[31m", '"\\x00\\x1b[31m"'),
        ("\x85\u2028\u200b", '"\\x85\\u2028\\u200b"'),
        ("\U000e0001", '"\\U000e0001"'),
        ("\ud800", '"\\ud800"'),
        ("résumé/ünïcode", "résumé/ünïcode"),
    ],
)
def test_values_are_quoted_and_escaped_as_documented(value: str, rendered: str) -> None:
    assert kv("e", v=value) == f"e v={rendered}"


def test_events_with_spaces_stay_bare_and_odd_events_are_quoted() -> None:
    assert kv("api key refused", path="/v1") == "api key refused path=/v1"
    assert parse_line("api key refused path=/v1").event == "api key refused"
    assert kv("a=b c") == '"a=b c"' and kv("two  spaces") == '"two  spaces"' and kv("") == '""'
    assert kv("bad key", **{"no such key": 1, "9lives": 2, "": 3}) == "bad key no_such_key=1 _9lives=2 _=3"


@pytest.mark.parametrize(
    "line", ['e v="open', 'e v="bad \\q"', 'e v="\\x4"', 'e v="x"y', "e  v=1", "e v=1 ", '"a" "b"', "a k=1 b"]
)
def test_malformed_lines_are_refused(line: str) -> None:
    with pytest.raises(ValueError):
        parse_line(line)


def _record(name: str, msg: object, args: tuple = (), exc_info=None, stack_info: str | None = None):
    return logging.LogRecord(name, logging.WARNING, __file__, 1, msg, args, exc_info, sinfo=stack_info)


@given(name=TEXT | HOSTILE, message=TEXT | HOSTILE, error=TEXT | HOSTILE)
def test_formatter_lines_are_one_line_and_recover_logger_message_and_exception(
    name: str, message: str, error: str
) -> None:
    try:
        raise RuntimeError(error)
    except RuntimeError:
        exc_info = sys.exc_info()
    formatter = KeyValueFormatter()
    line = formatter.format(_record(name, message, exc_info=exc_info, stack_info="Stack:\n  here"))
    _one_printable_line(line)
    parsed = parse_line(line)
    assert parsed.event is None
    assert [key for key, _ in parsed.fields] == ["ts", "level", "logger", "msg", "exc", "stack"]
    assert parsed.get("level") == "warning" and parsed.get("logger") == name
    assert parsed.get("msg") == message
    assert parsed.get("exc") == formatter.formatException(exc_info)
    assert error in parsed.get("exc") and parsed.get("stack") == "Stack:\n  here"


@given(station=TEXT | HOSTILE)
def test_formatter_keeps_a_kv_message_as_rendered(station: str) -> None:
    line = KeyValueFormatter().format(_record("gaitstream.x", kv("session_start", station=station)))
    _one_printable_line(line)
    parsed = parse_line(line)
    assert parsed.event == "session_start" and parsed.get("station") == station
    assert line.endswith(" " + kv("session_start", station=station))


def test_third_party_free_text_and_percent_arguments_become_one_msg_field() -> None:
    formatter = KeyValueFormatter()
    line = formatter.format(_record("kafka.conn", "Connection to %s failed:\n%s", ("node 1", "Traceback\n  boom")))
    _one_printable_line(line)
    assert line.endswith(' logger=kafka.conn msg="Connection to node 1 failed:\\nTraceback\\n  boom"')
    # A kv line passed through %-formatting is text like any other, still one line.
    nested = formatter.format(_record("x", "%s", (kv("e", v="a\nb"),)))
    assert parse_line(nested).get("msg") == kv("e", v="a\nb")


def test_emit_writes_one_line_to_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    emit("station_added", station="tm\n01", clinic="c 1")
    assert err.getvalue() == 'station_added station="tm\\n01" clinic="c 1"\n'
