"""The profile as stored: the domain's full state in `doc`, the contract's fields as columns."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Float, Numeric, String

from schemas.profiles import Profile
from services.profile.adapters.tables import CONTRACT_COLUMNS
from services.profile.domain.profile import CustomerProfile


def contract(profile: CustomerProfile, now: datetime) -> Profile:
    """The contract view of the profile as of `now` (`days_since_last_order` depends on it)."""
    return profile.as_contract(now)


def dump_state(profile: CustomerProfile) -> str:
    """`doc` as JSON text (asyncpg takes jsonb as text)."""
    return orjson.dumps(profile.to_state(), default=_json_default).decode()


def load_state(doc: str | dict[str, Any]) -> CustomerProfile:
    """The profile back from `doc`."""
    return CustomerProfile.from_state(orjson.loads(doc) if isinstance(doc, str) else doc)


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)  # type: ignore[call-overload]
    raise TypeError(f"not JSON-able: {type(value).__name__}")


def _kind(column_type: object) -> str:
    if isinstance(column_type, Numeric) and not isinstance(column_type, Float):
        return "money"
    if isinstance(column_type, String) and column_type.length:
        return "text"
    return "as-is"  # the contract's types are the column's: ints, floats, booleans, datetimes


_KINDS = [
    (column.name, _kind(column.type), int(getattr(column.type, "length", 0) or 0))
    for column in CONTRACT_COLUMNS
]


def columns_of(view: Profile) -> list[Any]:
    """The contract's fields that are columns, in `CONTRACT_COLUMNS` order; absent fields are NULL."""
    data = view.__dict__  # pydantic keeps a model's field values here: no copy, no validation
    values: list[Any] = []
    for name, kind, length in _KINDS:
        value = data.get(name)
        if value is None or kind == "as-is":
            values.append(value)
        elif kind == "money":
            values.append(Decimal(str(round(float(value), 2))))
        else:
            text = value if isinstance(value, str) else str(value)
            values.append(text if len(text) <= length else text[:length])
    return values
