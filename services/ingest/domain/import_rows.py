"""CSV rows of a bulk import turned into Segment calls (identify, Order Completed). Pure: no I/O.

See docs/imports.md for the file formats. Cells are trimmed; empty cells count as absent.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from services.ingest.domain.csv_records import Record, RowError

KINDS = ("customers", "orders")
CUSTOMER_FIELDS = ("user_id", "email", "first_name", "last_name", "phone", "created_at")
ADDRESS_FIELDS = {"city": "city", "state": "state", "zip": "postal_code", "country": "country"}
LINE_FIELDS = ("product_id", "sku", "name", "category", "brand", "price", "quantity")
ORDER_FIELDS = ("order_id", "user_id", "email", "ordered_at", "currency", "total", *LINE_FIELDS)
# Every line of an order must agree on these (an empty cell on a later line is fine).
ORDER_LEVEL = ("user_id", "email", "ordered_at", "currency", "total")
REQUIRED = {
    "customers": (),
    "orders": ("order_id", "ordered_at", "product_id", "price", "quantity", "currency"),
}
_MAX_AMOUNT = Decimal(10) ** 12
MAX_QUANTITY = 2**63 - 1  # a JSON integer every consumer reads exactly
MAX_ID_CHARS = 190  # message ids are `order:<order_id>`, at most 200 characters
Timed = tuple[dict[str, Any], datetime | None]  # a call, and when it happened if the file says


class HeaderError(ValueError):
    """The header row cannot be imported: the whole job fails with this message."""

    def __init__(self, message: str, missing: list[str] | None = None) -> None:
        super().__init__(message)
        self.missing = missing or []


class CellError(ValueError):
    """One cell makes its row unusable."""

    def __init__(self, column: str | None, reason: str, row: int | None = None) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason
        self.row = row


@dataclass(frozen=True)
class Layout:
    """Where each column is in a file: known columns by name, others (customers only) as traits."""

    kind: str
    width: int
    index: dict[str, int]
    extras: tuple[tuple[str, int], ...]
    # Positions looked up once per file rather than once per row: (column, position) of those present.
    product: tuple[tuple[str, int], ...] = ()
    order_level: tuple[tuple[str, int], ...] = ()

    def has(self, column: str) -> bool:
        return column in self.index


def read_header(kind: str, cells: list[str]) -> Layout:
    """The layout of a file from its header row; `HeaderError` names what is wrong."""
    names = [cell.strip() for cell in cells]
    if not any(names):
        raise HeaderError("the file has no header row (the first row must name the columns)")
    known = CUSTOMER_FIELDS + tuple(ADDRESS_FIELDS) if kind == "customers" else ORDER_FIELDS
    index: dict[str, int] = {}
    extras: list[tuple[str, int]] = []
    seen: set[str] = set()
    for position, name in enumerate(names):
        key = name.lower()
        if not name:
            raise HeaderError(f"column {position + 1} of the header has no name")
        if key in seen:
            raise HeaderError(f"column {name!r} appears twice in the header")
        seen.add(key)
        if key in known:
            index[key] = position
        elif kind == "customers":
            extras.append((name, position))
    missing = [column for column in REQUIRED[kind] if column not in index]
    if "user_id" not in index and "email" not in index:
        missing.append("user_id (or email)")
    if missing:
        raise HeaderError(f"missing required columns: {', '.join(missing)}", missing)
    product = tuple((c, index[c]) for c in LINE_FIELDS[:5] if c in index)
    order_level = tuple((c, index[c]) for c in ORDER_LEVEL if c in index)
    return Layout(kind, len(names), index, tuple(extras), product, order_level)


def _cell(layout: Layout, cells: list[str], column: str) -> str:
    position = layout.index.get(column)
    return cells[position].strip() if position is not None else ""


def check_width(layout: Layout, cells: list[str]) -> None:
    if len(cells) != layout.width:
        raise CellError(None, f"the row has {len(cells)} cells, the header has {layout.width}")


def parse_instant(value: str, column: str) -> datetime:
    """An ISO-8601 date or date-time as a UTC time (a date or naive time is taken as UTC)."""
    try:
        parsed = datetime.fromisoformat(value[:-1] + "Z" if value[-1:] == "z" else value)
    except ValueError as error:
        raise CellError(
            column, f"{value!r} is not an ISO-8601 date or time (e.g. 2024-03-01T10:00:00Z)"
        ) from error
    offset = parsed.utcoffset()
    if offset is None or not offset:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_time(value: str, column: str) -> str:
    """`parse_instant` written as ISO-8601."""
    return parse_instant(value, column).isoformat()


def _identity(layout: Layout, cells: list[str]) -> tuple[str, str]:
    """The user id (the e-mail, lower-cased, when there is none) and the e-mail of a row."""
    user_id, email = _cell(layout, cells, "user_id"), _cell(layout, cells, "email")
    if email and "@" not in email:
        raise CellError("email", f"{email!r} is not an e-mail address")
    if not user_id and not email:
        raise CellError("user_id" if layout.has("user_id") else "email", "user_id or email is required")
    if len(user_id or email) > MAX_ID_CHARS:
        raise CellError("user_id" if user_id else "email", f"is longer than {MAX_ID_CHARS} characters")
    return user_id or email.lower(), email


def customer_call(layout: Layout, cells: list[str]) -> dict[str, Any]:
    """One customers row as a Segment identify call whose messageId is a digest of its content."""
    return timed_customer_call(layout, cells)[0]


def timed_customer_call(layout: Layout, cells: list[str]) -> Timed:
    """`customer_call`, and the time it happened (its `timestamp`) when the row says."""
    check_width(layout, cells)
    user_id, _ = _identity(layout, cells)
    traits: dict[str, Any] = {}
    for column in ("email", "first_name", "last_name", "phone"):
        value = _cell(layout, cells, column)
        if value:
            traits[column] = value
    address = {}
    for column, trait in ADDRESS_FIELDS.items():
        value = _cell(layout, cells, column)
        if value:
            address[trait] = value
    if address:
        traits["address"] = address
    for name, position in layout.extras:
        value = cells[position].strip()
        if value:
            traits[name] = value
    call: dict[str, Any] = {"userId": user_id, "traits": traits}
    created_at, when = _cell(layout, cells, "created_at"), None
    if created_at:
        when = parse_instant(created_at, "created_at")
        call["timestamp"] = traits["created_at"] = when.isoformat()
    # The same row imported again is the same event: dedupe drops it instead of counting it twice.
    digest = hashlib.sha1(orjson.dumps(call, option=orjson.OPT_SORT_KEYS)).hexdigest()
    call["messageId"] = f"customer-import:{digest}"
    return call, when


def _number(value: str, column: str) -> Decimal:
    try:
        number = Decimal(value)
    except InvalidOperation as error:
        raise CellError(column, f"{value!r} is not a number") from error
    if not number.is_finite() or number < 0 or number > _MAX_AMOUNT:
        raise CellError(column, f"{value!r} is not a number between 0 and {_MAX_AMOUNT}")
    return number


def _line(layout: Layout, cells: list[str]) -> tuple[dict[str, Any], Decimal]:
    """One order line as a product of the event, and its amount (price * quantity)."""
    product: dict[str, Any] = {}
    for column, position in layout.product:
        value = cells[position].strip()
        if value:
            product[column] = value
    if "product_id" not in product:
        raise CellError("product_id", "product_id is required")
    index = layout.index
    price_cell, quantity_cell = cells[index["price"]].strip(), cells[index["quantity"]].strip()
    if not price_cell:
        raise CellError("price", "price is required")
    price = _number(price_cell, "price")
    if (
        not (quantity_cell.isascii() and quantity_cell.isdigit())
        or not 1 <= int(quantity_cell) <= MAX_QUANTITY
    ):
        raise CellError("quantity", f"{quantity_cell!r} is not a whole number between 1 and {MAX_QUANTITY}")
    quantity = int(quantity_cell)
    product["price"] = float(price)
    product["quantity"] = quantity
    return product, price * quantity


def order_call(layout: Layout, lines: list[Record]) -> dict[str, Any]:
    """The adjacent rows of one order as one Segment `Order Completed` track call."""
    return timed_order_call(layout, lines)[0]


def timed_order_call(layout: Layout, lines: list[Record]) -> Timed:
    """`order_call`, and when the order was placed (its `timestamp`)."""
    first_row, first = lines[0]
    try:
        check_width(layout, first)
        user_id, email = _identity(layout, first)
        order_id = _cell(layout, first, "order_id")
        if len(order_id) > MAX_ID_CHARS:
            raise CellError("order_id", f"is longer than {MAX_ID_CHARS} characters")
        ordered_at = _cell(layout, first, "ordered_at")
        if not ordered_at:
            raise CellError("ordered_at", "ordered_at is required")
        when = parse_instant(ordered_at, "ordered_at")
        currency = _cell(layout, first, "currency").upper()
        if len(currency) != 3 or not (currency.isascii() and currency.isalpha()):
            raise CellError("currency", f"{currency!r} is not a 3-letter ISO-4217 currency code")
        total_cell = _cell(layout, first, "total")
        total = _number(total_cell, "total") if total_cell else None
    except CellError as error:
        error.row = first_row
        raise
    products, amount = [], Decimal(0)
    for row, cells in lines:
        try:
            if row != first_row:
                check_width(layout, cells)
                _agrees(layout, first, cells, first_row)
            product, line_amount = _line(layout, cells)
        except CellError as error:
            error.row = row
            raise
        products.append(product)
        amount += line_amount
    properties: dict[str, Any] = {
        "order_id": order_id,
        "total": float(total if total is not None else amount),
        "currency": currency,
        "products": products,
    }
    call: dict[str, Any] = {
        "userId": user_id,
        "event": "Order Completed",
        "timestamp": when.isoformat(),
        "properties": properties,
        # An order is the same order however often it is imported: its id is the event's id.
        "messageId": f"order:{order_id}",
    }
    if email:
        call["context"] = {"traits": {"email": email}}
    return call, when


def _agrees(layout: Layout, first: list[str], cells: list[str], first_row: int) -> None:
    for column, position in layout.order_level:
        value = cells[position]
        if value != first[position] and (value := value.strip()) and value != first[position].strip():
            raise CellError(column, f"differs from row {first_row}, the first row of this order")


def row_errors(error: CellError, rows: list[int], order_id: str | None = None) -> list[RowError]:
    """The rows an error rejects: the faulty one with its reason, the others of its order with why."""
    faulty = error.row if error.row is not None else rows[0]
    errors = [RowError(faulty, error.column, error.reason)]
    errors += [
        RowError(row, "order_id", f"order {order_id!r} is rejected because of row {faulty}")
        for row in rows
        if row != faulty
    ]
    return errors
