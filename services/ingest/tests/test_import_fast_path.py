"""CSV rows become events without a model validating each one: checked against the path that did.

The import builds each event's fields from cells it checked as it read them. The reference is how
it did it before: the row's Segment call through `to_event` (the contract's pydantic models) and
pydantic's JSON. Whatever the cells, both must refuse the same rows (and columns), and give
byte-identical Kafka messages for the rest.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from services.ingest.bootstrap import wire
from services.ingest.domain.import_convert import Converter, column_of
from services.ingest.domain.import_rows import CellError
from services.ingest.domain.ingested import IngestedEvent
from services.ingest.domain.segment import ItemError, to_event

STARTED = datetime(2026, 5, 1, 12, 0, 0, 654321, tzinfo=UTC)
ORDERS = [
    "order_id",
    "user_id",
    "email",
    "ordered_at",
    "currency",
    "total",
    "product_id",
    "sku",
    "price",
    "quantity",
]
CUSTOMERS = ["user_id", "email", "first_name", "phone", "city", "zip", "created_at", "Loyalty Tier"]


class ReferenceConverter(Converter):
    """The converter as it was: each call through `to_event`, its refusals mapped to columns."""

    def _event(
        self, call: dict[str, Any], when: datetime | None, call_type: str, rows: list[int]
    ) -> IngestedEvent:
        size = len(orjson.dumps(call))
        if size > self.max_event_bytes:
            raise CellError(None, "too big", rows[0])
        try:
            return to_event(
                call, workspace_id=self.workspace_id, call_type=call_type, defaults={}, received_at=STARTED
            )
        except ItemError as error:
            column, line = column_of(str(error), self.kind)
            row = rows[line] if line is not None and line < len(rows) else rows[0]
            raise CellError(column, str(error), row) from error


def run(converter: Converter, rows: list[list[str]]) -> tuple[list[tuple[bytes, int]], list[tuple[int, Any]]]:
    out = converter.add(list(enumerate(rows, start=1)))
    last = converter.finish()
    events = out.events + last.events
    errors = sorted((e.row, e.column) for e in out.errors + last.errors)
    return [(wire(event), count) for event, count in events], errors


# Rows are valid cells with at most one faulty one, so that both events and refusals are compared.
FAULTY = ["", " ", "x" * 200, "nul\x00", "\u2028", "-1", "0", "1.5", "1e13", "abc", "NaN", "Infinity"]
FAULTY += ["ß", "²", "ÉUR", "eu", "US1", "not-an-email", "2024-13-01", "yesterday", "2024-02-03T04:05:06z"]


def rows_of(*columns: list[str]) -> st.SearchStrategy[list[str]]:
    valid = st.tuples(*(st.sampled_from(values) for values in columns)).map(list)
    fault = st.none() | st.tuples(st.integers(0, len(columns) - 1), st.sampled_from(FAULTY))

    def spoil(row: list[str], where: tuple[int, str] | None) -> list[str]:
        if where is not None:
            row[where[0]] = where[1]
        return row

    return st.builds(spoil, valid, fault)


text = ["", "a", "Ann", "José", '"q"', "1,2"]
times = ["", "2024-02-03", "2024-02-03T04:05:06Z", "2024-02-03 04:05:06+02:00", "2024-02-03T04:05:06.5-05:30"]
order_row = rows_of(
    ["o1", "o2", "o3"],
    ["u1", "u2", "José", ""],
    ["", "a@x.io", "Bo@Example.COM"],
    times[1:],
    ["usd", "EUR", " gbp "],
    ["", "0", "19.90", "5", "1e3"],
    ["p1", "p2"],
    text,
    ["19.90", "5", "0"],
    ["1", "2", str(2**63 - 1)],
)
customer_row = rows_of(
    ["u1", "u2", "José", ""], ["", "a@x.io", "Bo@Example.COM"], text, text, text, text, times, text
)


@settings(max_examples=400, deadline=None)
@given(rows=st.lists(order_row | order_row | order_row.map(lambda r: r[:-1]), max_size=8))
def test_orders_convert_as_they_did_through_the_models(rows: list[list[str]]) -> None:
    fast = run(Converter("orders", "ws-1", STARTED), [ORDERS, *rows])
    reference = run(ReferenceConverter("orders", "ws-1", STARTED), [ORDERS, *rows])
    assert fast == reference


@settings(max_examples=400, deadline=None)
@given(rows=st.lists(customer_row, max_size=6))
def test_customers_convert_as_they_did_through_the_models(rows: list[list[str]]) -> None:
    fast = run(Converter("customers", "ws-1", STARTED), [CUSTOMERS, *rows])
    reference = run(ReferenceConverter("customers", "ws-1", STARTED), [CUSTOMERS, *rows])
    assert fast == reference


def test_a_quantity_beyond_64_bits_is_a_row_error_not_a_failed_import() -> None:
    row = ["o1", "u1", "", "2024-02-03", "USD", "", "p1", "", "1", "1" + "0" * 25]
    events, errors = run(Converter("orders", "ws-1", STARTED), [ORDERS, row])
    assert events == [] and errors == [(2, "quantity")]
