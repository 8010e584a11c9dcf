"""The catalog CSV: typed known columns, attributes, and per-row errors that never sink the file."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.catalog.domain.product_csv import CsvRefused, parse_products_csv


def test_known_columns_are_typed_and_the_rest_become_attributes() -> None:
    parsed = parse_products_csv(
        "\ufeffProduct_ID,sku,name,category,brand,price,launch_date,image_url,color\n"
        "p1,SKU-1,Trail Shoe,Shoes,Acme,89.90,2025-03-01,https://x/p1.png,red\n"
        "p2,,Cap,,,,,,\n"
    )
    assert parsed.errors == []
    first, second = parsed.rows
    assert (first.product_id, first.price, first.launch_date) == ("p1", Decimal("89.90"), date(2025, 3, 1))
    assert first.attributes == {"color": "red"}
    assert (second.sku, second.price, second.attributes) == (None, None, {})


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (",x,,,,,,,", "product_id is empty"),
        ("p3,,,,,abc,,,", "price 'abc' is not a number"),
        ("p3,,,,,-1,,,", "price '-1' is not an amount"),
        ("p3,,,,,,2025-13-01,,", "launch_date '2025-13-01' is not a YYYY-MM-DD date"),
        ("a/b,,,,,,,,", "product_id is longer than 200 characters or contains '/'"),
        ("p3,,,,,,,,,extra", "10 cells for 9 columns"),
    ],
)
def test_a_bad_row_is_reported_with_its_line_and_the_others_imported(row: str, reason: str) -> None:
    parsed = parse_products_csv(
        f"product_id,sku,name,category,brand,price,launch_date,image_url,color\nok,,,,,,,,\n{row}\n"
    )
    assert [r.product_id for r in parsed.rows] == ["ok"]
    assert parsed.errors == [{"line": 3, "reason": reason}] and parsed.rejected == 1


def test_a_repeated_product_id_keeps_the_first_row() -> None:
    parsed = parse_products_csv("product_id,name\np1,First\np1,Second\n\n")
    assert [r.name for r in parsed.rows] == ["First"]
    assert parsed.errors == [{"line": 3, "reason": "product_id 'p1' is on an earlier line too"}]


@pytest.mark.parametrize("text", ["", "sku,name\nx,y\n", "product_id,name,name\n"])
def test_a_file_without_a_usable_header_is_refused(text: str) -> None:
    with pytest.raises(CsvRefused):
        parse_products_csv(text)
