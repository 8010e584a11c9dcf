"""The profile as stored: the domain's full state in `doc`, the contract's fields as columns."""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Float, Numeric, String

from schemas.profiles import Profile
from services.profile.adapters.tables import CONTRACT_COLUMNS
from services.profile.domain.profile import CustomerProfile


def to_state(profile: CustomerProfile) -> dict[str, Any]:
    """The profile's whole state, JSON-able."""
    if hasattr(profile, "to_state"):
        state: dict[str, Any] = profile.to_state()
        return state
    return {f.name: getattr(profile, f.name) for f in fields(profile)}  # pre-C360 domain


def from_state(state: dict[str, Any]) -> CustomerProfile:
    """The profile back from `to_state()`."""
    if hasattr(CustomerProfile, "from_state"):
        profile: CustomerProfile = CustomerProfile.from_state(state)
        return profile
    values = dict(state)
    for name in ("first_seen_at", "last_seen_at"):
        values[name] = datetime.fromisoformat(values[name])
    return CustomerProfile(**values)


def contract(profile: CustomerProfile, now: datetime) -> Profile:
    """The contract view of the profile as of `now`."""
    try:
        return profile.as_contract(now)  # type: ignore[call-arg,unused-ignore]
    except TypeError:
        return profile.as_contract()  # type: ignore[call-arg,unused-ignore]


def dump_state(profile: CustomerProfile) -> str:
    """`doc` as JSON text (asyncpg takes jsonb as text)."""
    return orjson.dumps(to_state(profile), default=_json_default).decode()


def load_state(doc: str | dict[str, Any]) -> CustomerProfile:
    return from_state(orjson.loads(doc) if isinstance(doc, str) else doc)


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
