"""Text PostgreSQL cannot store is found, with its path, and ordinary text is not flagged."""

from __future__ import annotations

import pytest

from cdpkit.errors import InvalidInput
from cdpkit.text import find_unstorable, storable


@pytest.mark.parametrize(
    ("document", "found"),
    [
        ({"a": ["ok", "b\x00d"]}, "a[1] contains a NUL character"),
        ({"\x00key": 1}, "\x00key (key) contains a NUL character"),
        ({"t": {"u": "\ud800"}}, "t.u is not valid Unicode (a lone surrogate)"),
        ("plain\x00", "value contains a NUL character"),
        ({"size": [1, 445475390658899279872]}, "size[1] is an integer beyond 64 bits"),  # CI's fuzz found it
        ({"n": -(2**63) - 1}, "n is an integer beyond 64 bits"),
    ],
)
def test_unstorable_text_is_found_with_its_path(document: object, found: str) -> None:
    assert find_unstorable(document) == found


@pytest.mark.parametrize(
    "document",
    [
        {"a": "ordinary", "n": 1, "emoji": "😀"},
        {"literal": "\\u0000"},
        [],
        None,
        {"big": 2**64 - 1, "low": -(2**63)},
    ],
)
def test_storable_documents_pass(document: object) -> None:
    assert find_unstorable(document) is None


def test_storable_refuses_what_postgresql_cannot_store_with_a_400() -> None:
    assert storable("plain") == "plain"
    assert storable(None) is None
    for bad in ("a\x00b", "\ud800"):
        with pytest.raises(InvalidInput) as refused:
            storable(bad)
        assert refused.value.status == 400
    with pytest.raises(InvalidInput, match="text contains a NUL character"):
        storable("\x00")
