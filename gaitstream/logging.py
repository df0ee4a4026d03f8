"""``key=value`` log lines on stderr, greppable (``wrote points=500 elapsed_s=0.12``).

One call gives exactly one line, whatever the values hold (a station id with a newline cannot
forge a second line), and :func:`parse_line` gives every value back unchanged:

- a key is an ASCII identifier (``[A-Za-z_][A-Za-z0-9_]*``); any other character of a key is
  replaced by ``_`` (a log call never raises over a key);
- a value (``str(value)``) stays bare when it is printable and holds no space, ``"``, ``=`` or
  backslash; otherwise it is written in double quotes with ``\\\\``, ``\\"``, ``\\n``, ``\\r``,
  ``\\t`` and every other non-printable character (controls, Unicode line separators, format
  characters, lone surrogates) as ``\\xNN``, ``\\uNNNN`` or ``\\UNNNNNNNN``; the empty value is ``""``;
- the event leads the line: bare when it is words of such plain text between single spaces
  (``api key refused``), else quoted like a value.

So a line holds printable characters only. :class:`KeyValueFormatter` prefixes
``ts= level= logger=``; a message that did not come from :func:`kv` (third-party free text)
becomes ``msg="..."``, and an exception ``exc="..."``, escaped the same way.
"""

from __future__ import annotations

import logging
import re
import sys
from dataclasses import dataclass
from typing import Any

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z", re.ASCII)
_NOT_KEY_CHAR = re.compile(r"[^A-Za-z0-9_]", re.ASCII)
_QUOTE_TRIGGERS = frozenset(' "=\\')
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_UNESCAPES = {"\\": "\\", '"': '"', "n": "\n", "r": "\r", "t": "\t"}
# Digits that follow \x, \u and \U.
_HEX_DIGITS = {"x": 2, "u": 4, "U": 8}


class KeyValueLine(str):
    """A line rendered by :func:`kv`: the formatter logs it as it is (it is escaped already)."""

    __slots__ = ()


def _escape_char(ch: str) -> str:
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    if ch.isprintable():
        return ch
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _quote(text: str) -> str:
    if text.isprintable():  # the common case: only backslashes and quotes to escape
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return '"' + "".join(_escape_char(ch) for ch in text) + '"'


def _format_value(value: Any) -> str:
    text = str(value)
    if text and text.isprintable() and _QUOTE_TRIGGERS.isdisjoint(text):
        return text
    return _quote(text)


def _format_key(key: str) -> str:
    if _KEY.match(key):
        return key
    cleaned = _NOT_KEY_CHAR.sub("_", key)
    return cleaned if cleaned[:1].isalpha() or cleaned[:1] == "_" else "_" + cleaned


def _format_event(event: str) -> str:
    words = event.split(" ")
    if all(word and word.isprintable() and _QUOTE_TRIGGERS.isdisjoint(word) for word in words):
        return event
    return _quote(event)


def kv(event: str, **fields: Any) -> str:
    """Render an event and its fields as one ``event k=v ...`` line (escaped: see the module)."""
    parts = [_format_event(event), *(f"{_format_key(key)}={_format_value(val)}" for key, val in fields.items())]
    return KeyValueLine(" ".join(parts))


def emit(event: str, **fields: Any) -> None:
    """Write one ``event k=v ...`` line to stderr, unwrapped (CLI status lines)."""
    print(kv(event, **fields), file=sys.stderr, flush=True)


@dataclass(frozen=True)
class ParsedLine:
    """A line read back: its event (``None`` when it has none) and its fields in order."""

    event: str | None
    fields: tuple[tuple[str, str], ...]

    def get(self, key: str) -> str | None:
        """The first value of ``key`` (``None`` when absent)."""
        return next((value for name, value in self.fields if name == key), None)


def _read_quoted(line: str, start: int) -> tuple[str, int]:
    """The unescaped text of the quoted string opening at ``line[start]``, and the index after it."""
    out: list[str] = []
    i = start + 1
    while i < len(line):
        ch = line[i]
        if ch == '"':
            return "".join(out), i + 1
        if ch != "\\":
            if not ch.isprintable():
                raise ValueError(f"raw non-printable character at {i}")
            out.append(ch)
            i += 1
            continue
        code = line[i + 1 : i + 2]
        if code in _UNESCAPES:
            out.append(_UNESCAPES[code])
            i += 2
        elif code in _HEX_DIGITS:
            digits = line[i + 2 : i + 2 + _HEX_DIGITS[code]]
            if len(digits) != _HEX_DIGITS[code] or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise ValueError(f"bad \\{code} escape at {i}")
            out.append(chr(int(digits, 16)))
            i += 2 + len(digits)
        else:
            raise ValueError(f"unknown escape at {i}: {code!r}")
    raise ValueError(f"unterminated quote opened at {start}")


def parse_line(line: str) -> ParsedLine:
    """Read a line written by :func:`kv` or :class:`KeyValueFormatter` back (ValueError if malformed)."""
    event_words: list[str] = []
    event: str | None = None
    fields: list[tuple[str, str]] = []
    i = 0
    while i < len(line):
        if line[i] == '"':
            text, i = _read_quoted(line, i)
            word, quoted = text, True
        else:
            end = line.find(" ", i)
            end = len(line) if end < 0 else end
            token = line[i:end]
            if not token:
                raise ValueError(f"empty token at {i}")
            key, sep, rest = token.partition("=")
            if sep and _KEY.match(key):
                if rest.startswith('"'):
                    value, i = _read_quoted(line, i + len(key) + 1)
                else:
                    value, i = rest, end
                fields.append((key, value))
                word = None
            else:
                word, quoted, i = token, False, end
        if word is not None:
            if event is not None or (quoted and event_words):
                raise ValueError("a line has one event")
            if quoted:
                event = word
            else:
                event_words.append(word)
        elif event_words:
            event = " ".join(event_words)
            event_words = []
        if i < len(line):
            if line[i] != " " or i + 1 == len(line):
                raise ValueError(f"expected one space between tokens at {i}")
            i += 1
    if event_words:
        event = " ".join(event_words)
    return ParsedLine(event=event, fields=tuple(fields))


class KeyValueFormatter(logging.Formatter):
    """``ts= level= logger=`` then the message: a :func:`kv` line as it is, any other text as
    ``msg="..."``; an exception or stack as ``exc=`` / ``stack=``. Always one line."""

    def format(self, record: logging.LogRecord) -> str:
        ts = self.formatTime(record, "%Y-%m-%dT%H:%M:%S")
        parts = [f"ts={ts}", f"level={_format_value(record.levelname.lower())}", f"logger={_format_value(record.name)}"]
        if isinstance(record.msg, KeyValueLine) and not record.args:
            parts.append(record.msg)
        else:
            parts.append("msg=" + _format_value(record.getMessage()))
        if record.exc_info:
            parts.append("exc=" + _format_value(self.formatException(record.exc_info)))
        elif record.exc_text:
            parts.append("exc=" + _format_value(record.exc_text))
        if record.stack_info:
            parts.append("stack=" + _format_value(self.formatStack(record.stack_info)))
        return " ".join(parts)


def configure_logging(level: str = "INFO") -> None:
    """Send gaitstream's logs to stderr as key=value lines (called by entry points, never on import)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Client libraries log every connection at INFO; keep their warnings, drop their chatter.
    for noisy in ("kafka", "aiokafka", "httpx", "httpcore", "urllib3", "faust", "mode"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
