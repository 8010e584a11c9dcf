"""Field types shared by the typed event properties: money, counts, currency codes, search queries."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema


class Properties(BaseModel):
    """Base of every event's properties: custom properties a shop adds are kept, never refused."""

    # SDKs send numeric ids (product_id: 42); Segment reads them as strings, so do we.
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)


def _not_a_bool(value: Any) -> Any:
    # pydantic reads True as 1 in lax mode; a boolean price or quantity is a bug at the source.
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    return value


def _currency_upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _iso_4217(value: str) -> str:
    # The format only: a fixed list of codes would refuse new currencies and test codes (XTS).
    if len(value) != 3 or not (value.isascii() and value.isalpha()):
        raise ValueError("must be a 3-letter ISO 4217 currency code, e.g. USD")
    return value


def _string_or_object(value: Any) -> str | dict[str, Any]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str | dict):
        return value
    raise ValueError("must be a string or an object")


# Amounts: numbers or numeric strings ("19.99"), kept as float; never negative (a refund is an
# `Order Refunded` event with the positive amount refunded).
# The bounds come first so they stay in the exported JSON Schema; a BeforeValidator runs first anyway.
Money = Annotated[float, Field(ge=0, allow_inf_nan=False), BeforeValidator(_not_a_bool)]
Quantity = Annotated[int, Field(ge=1), BeforeValidator(_not_a_bool)]
Position = Annotated[int, Field(ge=0), BeforeValidator(_not_a_bool)]
Score = Annotated[int, Field(ge=1, le=5), BeforeValidator(_not_a_bool)]
Currency = Annotated[
    str,
    BeforeValidator(_currency_upper),
    AfterValidator(_iso_4217),
    WithJsonSchema({"type": "string", "pattern": "^[A-Z]{3}$"}),
]
RequiredId = Annotated[str, Field(min_length=1, max_length=200)]
SearchQuery = Annotated[
    Any,
    AfterValidator(_string_or_object),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "object"}]}),
]
