"""Cursor pagination: `{"items": [...], "next_cursor": ...}` with an opaque cursor."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel

from cdpkit.errors import InvalidInput

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(position: list[str | int | float | None]) -> str:
    """An opaque token for the position after the last item returned."""
    return base64.urlsafe_b64encode(orjson.dumps(position)).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> list[str | int | float | None] | None:
    """The position a cursor stands for; a 400 if it was not made by `encode_cursor`."""
    if not cursor:
        return None
    try:
        position = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error) as error:
        raise InvalidInput("cursor is not valid", details={"cursor": cursor}) from error
    if not isinstance(position, list):
        raise InvalidInput("cursor is not valid", details={"cursor": cursor})
    return position


Limit = Annotated[int, Query(ge=1, le=500, description="Items per page")]
Cursor = Annotated[str | None, Query(max_length=2000, description="`next_cursor` of the previous page")]


def page_of(
    rows: Sequence[T], limit: int, position_of: Callable[[T], list[str | int | float | None]]
) -> Page[T]:
    """A page from up to `limit + 1` fetched rows: the extra row only says that a next page exists."""
    items = list(rows[:limit])
    next_cursor = encode_cursor(position_of(items[-1])) if len(rows) > limit else None
    return Page(items=items, next_cursor=next_cursor)


def id_cursor(cursor: str | None) -> str | None:
    """The id after which a page ordered by id continues."""
    position = decode_cursor(cursor)
    return str(position[0]) if position else None


def time_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    """The (time, id) after which a page ordered by time then id continues; 400 when malformed."""
    position = decode_cursor(cursor)
    if position is None:
        return None
    try:
        return datetime.fromisoformat(str(position[0])), str(position[1])
    except (ValueError, IndexError) as error:
        raise InvalidInput("cursor is not valid", details={"cursor": cursor}) from error
