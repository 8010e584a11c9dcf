"""CSV import, pure part: records from pieces of text, rows to Segment calls, orders from adjacent rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.ingest.domain.csv_records import CsvRecords, RecordTooLong
from services.ingest.domain.import_convert import Converter, column_of
from services.ingest.domain.import_rows import HeaderError, customer_call, read_header

NOW = datetime(2026, 5, 1, tzinfo=UTC)


def records_of(text: str, piece: int) -> list[tuple[int, list[str]]]:
    parser, out = CsvRecords(), []
    for start in range(0, len(text), piece):
        out += parser.feed(text[start : start + piece])[0]
    return out + parser.close()[0]


@pytest.mark.parametrize("piece", [1, 2, 3, 7, 1000])
def test_quoted_newlines_and_quotes_survive_any_cut_of_the_text(piece: int) -> None:
    text = 'a,b\r\n1,"multi\r\nline, with ""quotes"""\r\n\r\n2,"x\ny"\n3,last'
    assert records_of(text, piece) == [
        (1, ["a", "b"]),
        (2, ["1", 'multi\r\nline, with "quotes"']),
        (3, []),  # a blank line keeps its row number
        (4, ["2", "x\ny"]),
        (5, ["3", "last"]),
    ]


def test_an_unclosed_quote_stops_the_import_instead_of_holding_the_file() -> None:
    parser = CsvRecords(max_record_chars=100)
    parser.feed('a\n"open\n')
    with pytest.raises(RecordTooLong, match="row 2"):
        parser.feed("x" * 200 + "\n")


def test_a_field_over_the_csv_limit_is_a_row_error_and_the_next_rows_still_come() -> None:
    parser = CsvRecords(max_record_chars=10**7)
    records, errors = parser.feed('a\n"' + "x" * 200_000 + '"\nok\n')
    assert [(e.row, e.column) for e in errors] == [(2, None)]
    assert "field larger than field limit" in errors[0].reason
    assert records[-1] == (3, ["ok"])


def test_the_header_must_name_the_required_columns() -> None:
    with pytest.raises(HeaderError) as refused:
        read_header("orders", ["order_id", "sku", "price"])
    assert refused.value.missing == ["ordered_at", "product_id", "quantity", "currency", "user_id (or email)"]
    with pytest.raises(HeaderError, match="appears twice"):
        read_header("customers", ["user_id", "User_ID"])
    assert read_header("customers", [" Email "]).index == {"email": 0}


def test_a_customer_row_is_an_identify_with_traits_address_and_its_original_date() -> None:
    layout = read_header(
        "customers", ["user_id", "email", "first_name", "city", "zip", "created_at", "Loyalty Tier"]
    )
    cells = ["u1", "Ann@Example.com", " Ann ", "Paris", "75001", "2021-02-03", "gold"]
    call = customer_call(layout, cells)
    assert call["userId"] == "u1"
    assert call["timestamp"] == "2021-02-03T00:00:00+00:00"
    assert call["traits"] == {
        "email": "Ann@Example.com",
        "first_name": "Ann",
        "address": {"city": "Paris", "postal_code": "75001"},
        "Loyalty Tier": "gold",
        "created_at": "2021-02-03T00:00:00+00:00",
    }
    # The same row is the same event (a re-import dedupes); a changed row is a new one.
    assert customer_call(layout, cells)["messageId"] == call["messageId"]
    assert customer_call(layout, [*cells[:-1], "silver"])["messageId"] != call["messageId"]


def test_an_email_stands_in_for_a_missing_user_id() -> None:
    layout = read_header("customers", ["email", "first_name"])
    assert customer_call(layout, ["Bo@Example.com", "Bo"])["userId"] == "bo@example.com"


def convert(kind: str, rows: list[list[str]]):
    converter = Converter(kind, "ws", NOW)
    first = converter.add(list(enumerate(rows, start=1)))
    last = converter.finish()
    return first.events + last.events, sorted(first.errors + last.errors, key=lambda e: e.row)


def test_bad_customer_rows_are_reported_with_row_and_column() -> None:
    events, errors = convert(
        "customers",
        [
            ["user_id", "email", "created_at", "first_name"],
            ["u1", "a@x.io", "2024-01-01T10:00:00Z", "A"],
            ["", "", "", "nobody"],
            ["u3", "not-an-email", "", ""],
            ["u4", "", "yesterday", ""],
            ["u5", "", ""],
            ["u6", "", "", "nul\x00here"],
        ],
    )
    assert [e.payload.user_id for e, _ in events] == ["u1"]
    assert events[0][0].occurred_at == datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert [(e.row, e.column) for e in errors] == [
        (3, "user_id"),
        (4, "email"),
        (5, "created_at"),
        (6, None),
        (7, "first_name"),
    ]
    assert "3 cells" in errors[3].reason and "NUL" in errors[4].reason


ORDER_HEADER = ["order_id", "user_id", "ordered_at", "product_id", "name", "price", "quantity", "currency"]


def test_adjacent_rows_of_an_order_are_one_order_completed_with_its_original_date() -> None:
    events, errors = convert(
        "orders",
        [
            ORDER_HEADER,
            ["o1", "u1", "2023-06-01T12:30:00+02:00", "p1", "Shirt", "19.90", "2", "eur"],
            ["o1", "u1", "", "p2", "Socks", "5", "1", ""],
            ["o2", "u2", "2023-06-02", "p1", "Shirt", "19.90", "1", "EUR"],
        ],
    )
    assert errors == []
    (first, rows), (second, _) = events
    assert rows == 2 and first.event_id == "order:o1"
    assert first.occurred_at == datetime(2023, 6, 1, 10, 30, tzinfo=UTC)
    props = first.payload.properties
    assert props["total"] == pytest.approx(44.8) and props["currency"] == "EUR"
    assert [p["product_id"] for p in props["products"]] == ["p1", "p2"]
    assert props["products"][0] == {
        "product_id": "p1",
        "name": "Shirt",
        "price": 19.9,
        "quantity": 2,
    }
    assert second.payload.user_id == "u2"


def test_a_bad_line_rejects_its_whole_order_and_says_which_row_caused_it() -> None:
    events, errors = convert(
        "orders",
        [
            ORDER_HEADER,
            ["o1", "u1", "2023-06-01", "p1", "A", "1", "1", "EUR"],
            ["o1", "u1", "", "p2", "B", "free", "1", ""],
            ["o2", "u2", "2023-06-01", "p1", "A", "1", "0", "EUR"],
            ["o3", "u3", "2023-06-01", "p1", "A", "1", "1", "EUR"],
            ["o3", "u9", "", "p2", "A", "1", "1", ""],
        ],
    )
    assert events == []
    assert [(e.row, e.column) for e in errors] == [
        (2, "order_id"),
        (3, "price"),
        (4, "quantity"),
        (5, "order_id"),
        (6, "user_id"),
    ]
    assert "because of row 3" in errors[0].reason and "differs from row 5" in errors[4].reason


def test_rows_of_an_order_that_are_not_adjacent_are_refused_with_a_clear_reason() -> None:
    events, errors = convert(
        "orders",
        [
            ORDER_HEADER,
            ["o1", "u1", "2023-06-01", "p1", "A", "1", "1", "EUR"],
            ["o2", "u1", "2023-06-01", "p1", "A", "1", "1", "EUR"],
            ["o1", "u1", "2023-06-01", "p2", "B", "1", "1", "EUR"],
            ["", "u1", "2023-06-01", "p2", "B", "1", "1", "EUR"],
        ],
    )
    assert [e.event_id for e, _ in events] == ["order:o1", "order:o2"]
    assert [(e.row, e.column) for e in errors] == [(4, "order_id"), (5, "order_id")]
    assert "must be adjacent" in errors[0].reason


def test_an_order_too_big_for_one_event_is_refused_whole() -> None:
    lines = [["o1", "u1", "2023-06-01", f"p{i}", "x" * 100, "1", "1", "EUR"] for i in range(400)]
    events, errors = convert("orders", [ORDER_HEADER, *lines])
    assert events == [] and len(errors) == 400
    assert "an event may be at most 32768" in errors[0].reason
    assert errors[1].reason == "order 'o1' is rejected because of row 2"


def test_reasons_of_to_event_point_at_columns() -> None:
    assert column_of("properties.products[1].price: must be positive", "orders") == ("price", 1)
    assert column_of("track.properties.currency: bad", "orders") == ("currency", None)
    assert column_of("traits.address.postal_code contains a NUL character", "customers") == ("zip", None)
    assert column_of("identify.user_id: String should have at most 200 characters", "customers") == (
        "user_id",
        None,
    )
    assert column_of("something else entirely", "orders") == (None, None)
