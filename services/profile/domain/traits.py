"""Identify traits read into the profile's own fields (Segment's spellings and `address`). Pure: no I/O."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

# Each field with the trait names that feed it, best first: when one call carries two spellings,
# the earlier one in the list wins. `address.*` are keys of Segment's reserved `address` trait.
_SPELLINGS: dict[str, tuple[str, ...]] = {
    "email": ("email",),
    "first_name": ("first_name", "firstName", "firstname"),
    "last_name": ("last_name", "lastName", "lastname"),
    "phone": ("phone", "phone_number", "phoneNumber"),
    "city": ("city", "address.city"),
    "state": ("state", "address.state"),
    "zip": (
        "zip",
        "zip_code",
        "zipcode",
        "postal_code",
        "postalCode",
        "address.postal_code",
        "address.postalCode",
        "address.zip",
    ),
    "country": ("country", "address.country"),
    "email_subscribed": ("email_subscribed", "emailSubscribed"),
    "created_at": ("created_at", "createdAt"),
}
# trait name → (field, rank): one dict lookup per incoming trait.
_FIELD_OF: dict[str, tuple[str, int]] = {
    spelling: (name, rank)
    for name, spellings in _SPELLINGS.items()
    for rank, spelling in enumerate(spellings)
}
PROFILE_FIELDS: tuple[str, ...] = tuple(_SPELLINGS)

_TRUE = frozenset({"true", "yes", "1", "subscribed", "on"})
_FALSE = frozenset({"false", "no", "0", "unsubscribed", "off"})


class _Invalid(Exception):
    """A trait whose value does not fit its field: it stays an ordinary trait."""


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # zip codes and phone numbers sent as numbers
    raise _Invalid


def _email(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise _Invalid
    text = _text(value)
    return text.lower() if text else None


def _flag(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise _Invalid


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 string or epoch seconds (or milliseconds) as an aware datetime; a naive one is UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _Invalid from None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if abs(value) > 1e11 else value
        try:
            parsed = datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            raise _Invalid from None
    else:
        raise _Invalid
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_NORMALISE: dict[str, Callable[[Any], Any]] = {
    **{name: _text for name in PROFILE_FIELDS},
    "email": _email,
    "email_subscribed": _flag,
    "created_at": parse_time,
}


def read_traits(incoming: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split one call's traits into the profile's own fields (normalised) and the other traits.

    A value that does not fit its field (an e-mail that is a number, a date that is no date) stays
    an ordinary trait under the name it was sent with.
    """
    fields: dict[str, Any] = {}
    ranks: dict[str, int] = {}
    others: dict[str, Any] = {}
    for key, value in incoming.items():
        if key == "address" and isinstance(value, dict):
            rest = _read_address(value, fields, ranks)
            if rest:
                others["address"] = rest
            continue
        found = _FIELD_OF.get(key)
        if found is None or not _take(found, value, fields, ranks):
            others[key] = value
    if "first_name" not in fields and "last_name" not in fields:
        _split_name(incoming.get("name"), fields)
    return fields, others


def _read_address(address: dict[str, Any], fields: dict[str, Any], ranks: dict[str, int]) -> dict[str, Any]:
    rest = {}
    for key, value in address.items():
        found = _FIELD_OF.get(f"address.{key}")
        if found is None or not _take(found, value, fields, ranks):
            rest[key] = value
    return rest


def _take(found: tuple[str, int], value: Any, fields: dict[str, Any], ranks: dict[str, int]) -> bool:
    name, rank = found
    try:
        normalised = _NORMALISE[name](value)
    except _Invalid:
        return False
    if rank < ranks.get(name, len(_SPELLINGS[name])):
        fields[name] = normalised
        ranks[name] = rank
    return True


def _split_name(name: Any, fields: dict[str, Any]) -> None:
    # Segment's reserved `name` is the full name: first word → first name, the rest → last name,
    # only when the call names neither separately ("Mary Ann Smith" gives "Mary", "Ann Smith").
    if isinstance(name, str) and (words := name.split(maxsplit=1)):
        fields["first_name"] = words[0]
        if len(words) == 2:
            fields["last_name"] = words[1]
