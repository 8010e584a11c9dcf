"""The catalog's CSV import: one product per row, known columns typed, every other column an attribute.

Pure: no I/O. Rows that cannot be a product are reported with their line number and reason; the
others are imported (a file with one typo is not refused as a whole).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

KNOWN = ("product_id", "sku", "name", "category", "brand", "price", "launch_date", "image_url")
MAX_TEXT = 500
MAX_ERRORS = 100


@dataclass(frozen=True)
class ProductRow:
    """One product as the CSV gave it."""

    product_id: str
    sku: str | None = None
    name: str | None = None
    category: str | None = None
    brand: str | None = None
    price: Decimal | None = None
    launch_date: date | None = None
    image_url: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class ParsedCsv:
    rows: list[ProductRow] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    rejected: int = 0

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"line": line, "reason": reason})


class CsvRefused(ValueError):
    """The file as a whole is not a product CSV (no header, no product_id column)."""


def _price(raw: str) -> Decimal | None:
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation as error:
        raise ValueError(f"price {raw!r} is not a number") from error
    if not value.is_finite() or value < 0 or value >= Decimal(10) ** 12:
        raise ValueError(f"price {raw!r} is not an amount")
    return value.quantize(Decimal("0.01"))


def _day(raw: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as error:
        raise ValueError(f"launch_date {raw!r} is not a YYYY-MM-DD date") from error


def _row(values: dict[str, str]) -> ProductRow:
    product_id = values.get("product_id", "")
    if not product_id:
        raise ValueError("product_id is empty")
    if len(product_id) > 200 or "/" in product_id:
        raise ValueError("product_id is longer than 200 characters or contains '/'")
    for name, value in values.items():
        if len(value) > MAX_TEXT or "\x00" in value:
            raise ValueError(f"{name} is longer than {MAX_TEXT} characters or holds a NUL")
    return ProductRow(
        product_id=product_id,
        sku=values.get("sku") or None,
        name=values.get("name") or None,
        category=values.get("category") or None,
        brand=values.get("brand") or None,
        price=_price(values.get("price", "")),
        launch_date=_day(values.get("launch_date", "")),
        image_url=values.get("image_url") or None,
        attributes={k: v for k, v in values.items() if k not in KNOWN and v},
    )


def parse_products_csv(text: str) -> ParsedCsv:
    """The products of a CSV file with a header row; `CsvRefused` when it has no product_id column."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if not header:
        raise CsvRefused("the file is empty: a header row naming product_id is needed")
    names = [name.strip().lower() for name in header]
    if "product_id" not in names:
        raise CsvRefused("the header has no product_id column")
    if len(set(names)) != len(names):
        raise CsvRefused("the header names a column twice")
    parsed = ParsedCsv()
    seen: set[str] = set()
    for line, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(names):
            parsed.reject(line, f"{len(cells)} cells for {len(names)} columns")
            continue
        values = {name: cell.strip() for name, cell in zip(names, cells, strict=False)}
        try:
            row = _row(values)
        except ValueError as error:
            parsed.reject(line, str(error))
            continue
        if row.product_id in seen:
            parsed.reject(line, f"product_id {row.product_id!r} is on an earlier line too")
            continue
        seen.add(row.product_id)
        parsed.rows.append(row)
    return parsed
