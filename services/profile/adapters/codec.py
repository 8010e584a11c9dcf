"""The profile as stored: the domain's full state in `doc`, the contract's fields as columns."""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Boolean, Date, DateTime, Float, Integer, Numeric, SmallInteger

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


def _converter(column_type: object) -> Any:
    if isinstance(column_type, Numeric) and not isinstance(column_type, Float):
        return lambda v: Decimal(str(round(float(v), 2)))
    if isinstance(column_type, SmallInteger | Integer):
        return int
    if isinstance(column_type, Float):
        return float
    if isinstance(column_type, Boolean):
        return bool
    if isinstance(column_type, DateTime):
        return lambda v: v if isinstance(v, datetime) else datetime.fromisoformat(str(v))
    if isinstance(column_type, Date):
        return lambda v: v if isinstance(v, date) else date.fromisoformat(str(v))
    length = getattr(column_type, "length", None)
    return (lambda v: str(v)[:length]) if length else str


_CONVERT = {column.name: _converter(column.type) for column in CONTRACT_COLUMNS}


def columns_of(view: Profile) -> dict[str, Any]:
    """The contract's fields that are columns, converted for the database; absent fields are NULL."""
    data = dict(view)
    return {
        name: (None if data.get(name) is None else convert(data[name])) for name, convert in _CONVERT.items()
    }
