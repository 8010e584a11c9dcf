"""Text the database can store: PostgreSQL refuses NUL characters and lone UTF-16 surrogates."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from pydantic import AfterValidator

from cdpkit.errors import InvalidInput


def unstorable_reason(value: str) -> str | None:
    """Why PostgreSQL would refuse this string, or None."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode (a lone surrogate)"
    return None


def storable(value: str | None) -> str | None:
    """The text itself, refused with a 400 when PostgreSQL could not store it (path and query values)."""
    reason = None if value is None else unstorable_reason(value)
    if reason:
        raise InvalidInput(f"text {reason}")
    return value


def _storable(value: str) -> str:
    reason = unstorable_reason(value)
    if reason:
        raise ValueError(f"text {reason}")
    return value


Text = Annotated[str, AfterValidator(_storable)]


# What the JSON encoder (orjson) writes: a larger integer would fail the write with a 500.
_INTEGERS = range(-(2**63), 2**64)


def find_unstorable(value: Any) -> str | None:
    """The path and reason of the first string (key or value), or integer beyond 64 bits, in a JSON
    document that cannot be stored."""
    # Screen the whole document with one C-speed dump: orjson refuses lone surrogates and escapes
    # NUL as \u0000. Only a suspicious document is walked, to name the offending path.
    try:
        suspicious = b"\\u0000" in orjson.dumps(value)
    except orjson.JSONEncodeError:
        suspicious = True
    return _locate_unstorable(value) if suspicious else None


def _locate_unstorable(value: Any, path: str = "") -> str | None:
    if isinstance(value, str):
        reason = unstorable_reason(value)
        return f"{path or 'value'} {reason}" if reason else None
    if isinstance(value, int) and value not in _INTEGERS:
        return f"{path or 'value'} is an integer beyond 64 bits"
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            found = _locate_unstorable(str(key), f"{where} (key)") or _locate_unstorable(item, where)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _locate_unstorable(item, f"{path}[{index}]")
            if found:
                return found
    return None
