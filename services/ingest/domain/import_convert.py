"""Records of an import file turned into customer events, or into row errors. Pure: no I/O.

Orders span adjacent rows: a group ends when the order_id changes. An order id seen again after
other orders is refused with a reason rather than silently imported as a second order; the ids are
kept as 64-bit hashes, so the memory this takes is about 60 bytes per order of the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from cdpkit.text import find_unstorable
from services.ingest.domain.csv_records import Record, RowError
from services.ingest.domain.import_rows import (
    ADDRESS_FIELDS,
    CellError,
    Layout,
    check_width,
    read_header,
    row_errors,
    timed_customer_call,
    timed_order_call,
)
from services.ingest.domain.ingested import IngestedEvent, call_fields

MAX_ORDER_LINES = 1000
_PATH = re.compile(r"[.\[\]]+")


@dataclass
class Converted:
    """Events built from some rows (each with how many rows it carries) and the rows refused."""

    events: list[tuple[IngestedEvent, int]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0  # data rows seen (blank lines are not rows of data)


@dataclass
class _Order:
    order_id: str
    lines: list[Record] = field(default_factory=list)
    refusal: str | None = None  # why every row of this order is refused, when it is
    rows: list[int] = field(default_factory=list)


class Converter:
    """Feeds records (the header first) and returns events and errors as they are complete."""

    def __init__(
        self, kind: str, workspace_id: str, received_at: datetime, max_event_bytes: int = 32 * 1024
    ) -> None:
        self.kind = kind
        self.workspace_id = workspace_id
        self.received_at = received_at
        self.max_event_bytes = max_event_bytes
        self.layout: Layout | None = None
        self._order: _Order | None = None
        self._seen_orders: set[int] = set()

    def add(self, records: list[Record]) -> Converted:
        """Convert these records; raises `HeaderError` when the first one is not a usable header."""
        out = Converted()
        for row, cells in records:
            if self.layout is None:
                self.layout = read_header(self.kind, cells)
                continue
            if not cells:  # a blank line
                continue
            out.rows += 1
            if self.kind == "customers":
                self._customer(row, cells, out)
            else:
                self._order_line(self.layout, row, cells, out)
        return out

    def finish(self) -> Converted:
        """What is left at the end of the file: the last order."""
        out = Converted()
        self._close_order(out)
        return out

    def _customer(self, row: int, cells: list[str], out: Converted) -> None:
        assert self.layout is not None
        try:
            call, when = timed_customer_call(self.layout, cells)
            out.events.append((self._event(call, when, "identify", [row]), 1))
        except CellError as error:
            out.errors.append(RowError(row, error.column, error.reason))

    def _order_line(self, layout: Layout, row: int, cells: list[str], out: Converted) -> None:
        position = layout.index["order_id"]
        order_id = cells[position].strip() if position < len(cells) else ""
        if not order_id:
            try:
                check_width(layout, cells)
                out.errors.append(RowError(row, "order_id", "order_id is required"))
            except CellError as error:
                out.errors.append(RowError(row, error.column, error.reason))
            return
        current = self._order
        if current is None or current.order_id != order_id:
            self._close_order(out)
            current = self._order = _Order(order_id)
            key = hash(order_id)
            if key in self._seen_orders:
                current.refusal = (
                    f"order {order_id!r} appeared earlier in the file: the rows of one order must be adjacent"
                )
            self._seen_orders.add(key)
        current.rows.append(row)
        if current.refusal is None and len(current.lines) >= MAX_ORDER_LINES:
            current.refusal = f"order {order_id!r} has more than {MAX_ORDER_LINES} lines"
            current.lines.clear()
        if current.refusal is None:
            current.lines.append((row, cells))

    def _close_order(self, out: Converted) -> None:
        order, self._order = self._order, None
        if order is None or self.layout is None:
            return
        if order.refusal is not None:
            out.errors += [RowError(row, "order_id", order.refusal) for row in order.rows]
            return
        try:
            call, when = timed_order_call(self.layout, order.lines)
            out.events.append((self._event(call, when, "track", order.rows), len(order.rows)))
        except CellError as error:
            out.errors += row_errors(error, order.rows, order.order_id)

    def _event(
        self, call: dict[str, Any], when: datetime | None, call_type: str, rows: list[int]
    ) -> IngestedEvent:
        """The row's call as an event: its cells were checked as they were read, so no model runs again."""
        encoded = orjson.dumps(call)
        if len(encoded) > self.max_event_bytes:
            what = "the order" if self.kind == "orders" else "the row"
            limit = self.max_event_bytes
            reason = f"{what} makes an event of {len(encoded)} bytes; an event may be at most {limit}"
            raise CellError(None, reason, rows[0])
        # orjson writes a NUL as \u0000 (the CSV module lets NULs through; the database would not).
        unstorable = find_unstorable(call) if b"\\u0000" in encoded else None
        if unstorable:
            column, line = column_of(unstorable, self.kind)
            row = rows[line] if line is not None and line < len(rows) else rows[0]
            raise CellError(column, unstorable, row)
        values = {
            "message_id": call["messageId"],
            "user_id": call["userId"],
            "context": call.get("context", {}),
            "type": call_type,
        }
        if call_type == "track":
            values["event"], values["properties"] = call["event"], call["properties"]
        else:
            values["traits"] = call["traits"]
        occurred = when or self.received_at
        return IngestedEvent(self.workspace_id, occurred, self.received_at, call_fields(call_type, values))


def column_of(reason: str, kind: str) -> tuple[str | None, int | None]:
    """The CSV column (and order line) a reason of `to_event` is about, when its path says so."""
    path = reason.split(":", 1)[0].split(" ", 1)[0]
    parts = [part for part in _PATH.split(path) if part]
    if parts and parts[0] in ("identify", "track"):
        parts = parts[1:]
    if not parts:
        return None, None
    head, rest = parts[0], parts[1:]
    if head in ("user_id", "userId"):
        return "user_id", None
    if head == "timestamp":
        return ("created_at" if kind == "customers" else "ordered_at"), None
    if head == "context":
        return "email", None
    if head == "traits" and rest:
        if rest[0] == "address" and len(rest) > 1:
            reverse = {trait: column for column, trait in ADDRESS_FIELDS.items()}
            return reverse.get(rest[1], rest[1]), None
        return rest[0], None
    if head == "properties" and rest:
        if rest[0] == "products" and len(rest) > 1 and rest[1].isdigit():
            return (rest[2] if len(rest) > 2 else None), int(rest[1])
        return rest[0], None
    return None, None
