"""What Grafana does to a query before sending it to InfluxDB, done here the same way.

Grafana 11's InfluxQL backend renders ``$timeFilter`` as ``time >= <from>ms and time <= <to>ms``,
``$__interval`` as the panel's interval, ``${__from}``/``${__to}`` as epoch milliseconds, and a
template variable used inside ``/^$var$/`` as its regex-escaped value (``(a|b)`` for several).
"""

from __future__ import annotations

import re

_REGEX_SPECIALS = re.compile(r"([\\^$*+?.()|{}\[\]/])")


def escape(value: str) -> str:
    """Grafana's escapeRegex: a backslash before each regex special character (and ``/``)."""
    return _REGEX_SPECIALS.sub(r"\\\1", value)


def variable_value(values: str | list[str]) -> str:
    if isinstance(values, str):
        return escape(values)
    escaped = [escape(v) for v in values]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def render(query: str, *, from_ms: int, to_ms: int, interval: str = "1s", **variables: str | list[str]) -> str:
    text = query.replace("$timeFilter", f"time >= {from_ms}ms and time <= {to_ms}ms")
    text = text.replace("${__from}", str(from_ms)).replace("${__to}", str(to_ms))
    text = text.replace("$__interval", interval)
    for name in sorted(variables, key=len, reverse=True):
        text = text.replace(f"${name}", variable_value(variables[name]))
    leftover = re.findall(r"\$(?!/)\S*", text)
    assert not leftover, f"unsubstituted macros {leftover} in {text}"
    return text
