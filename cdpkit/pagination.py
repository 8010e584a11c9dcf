"""Cursor pagination: `{"items": [...], "next_cursor": ...}` with an opaque cursor."""

from __future__ import annotations

import base64
import binascii
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
