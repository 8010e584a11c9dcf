"""CSV text fed in arbitrary pieces, parsed into records numbered as a spreadsheet shows them. Pure.

`csv.reader` cannot be paused inside a record and resumed when more text arrives, so each piece is
parsed on its own, with a sentinel line after its last complete line: when a record swallows the
sentinel, that record was cut by the piece's end (an open quoted field) and is parsed again with the
next piece. Records are numbered from 1 (the header); blank lines are numbered but yield no cells.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from itertools import chain

# A Unicode noncharacter: never in interchanged text, so a line of it can only be our sentinel.
_SENTINEL = "\ufdd0cdp-piece-end\ufdd0"
_SENTINEL_LINE = _SENTINEL + "\n"

Record = tuple[int, list[str]]


@dataclass(frozen=True)
class RowError:
    """Why one row of an import was not accepted: row number, column (when known), reason."""

    row: int
    column: str | None
    reason: str


class RecordTooLong(ValueError):
    """One record is longer than the limit: the import cannot go on (an unclosed quote, usually)."""


class NotUtf8(ValueError):
    """The bytes are not UTF-8 from `offset` on; `valid` is the text decoded before that point."""

    def __init__(self, offset: int, valid: str) -> None:
        super().__init__(f"not UTF-8 at byte {offset}")
        self.offset = offset
        self.valid = valid


class Utf8Stream:
    """Decodes bytes fed in pieces (a character may be cut between two), skipping a leading BOM."""

    def __init__(self) -> None:
        self.offset = 0  # bytes of the stream before `_carry`
        self._carry = b""
        self._started = False

    def decode(self, chunk: bytes, final: bool = False) -> str:
        data = self._carry + chunk if self._carry else chunk
        if not self._started:
            if len(data) < len(codecs.BOM_UTF8) and not final:
                self._carry = data
                return ""
            self._started = True
            if data.startswith(codecs.BOM_UTF8):
                data, self.offset = data[len(codecs.BOM_UTF8) :], len(codecs.BOM_UTF8)
        try:
            text, used = codecs.utf_8_decode(data, "strict", final)
        except UnicodeDecodeError as error:
            raise NotUtf8(self.offset + error.start, data[: error.start].decode()) from error
        self.offset += used
        self._carry = data[used:]
        return text


class CsvRecords:
    """Incremental CSV parser: `feed` pieces of text, then `close`; both return complete records."""

    def __init__(self, max_record_chars: int = 1024 * 1024) -> None:
        self.max_record_chars = max_record_chars
        self.row = 0  # number of the last record returned
        self._pending = ""

    def feed(self, text: str) -> tuple[list[Record], list[RowError]]:
        """Records completed by this piece of text, and rows the CSV syntax made unreadable."""
        data = self._pending + text if self._pending else text
        cut = data.rfind("\n") + 1
        if cut == 0:
            self._pending = data
            self._check_pending()
            return [], []
        lines = io.StringIO(data[:cut], newline="").readlines()
        records, errors, unfinished = self._parse(lines, final=False)
        self._pending = unfinished + data[cut:]
        self._check_pending()
        return records, errors

    def close(self) -> tuple[list[Record], list[RowError]]:
        """The records left at the end of the text (the last line may lack its newline)."""
        lines = io.StringIO(self._pending, newline="").readlines()
        self._pending = ""
        records, errors, _ = self._parse(lines, final=True)
        return records, errors

    def _parse(self, lines: list[str], *, final: bool) -> tuple[list[Record], list[RowError], str]:
        reader = csv.reader(chain(lines, () if final else (_SENTINEL_LINE,)))
        records: list[Record] = []
        errors: list[RowError] = []
        last = len(lines)
        while True:
            start = reader.line_num
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                self.row += 1
                errors.append(RowError(self.row, None, f"unreadable CSV: {error}"))
                continue
            if reader.line_num > last:  # this record reached the sentinel
                if cells != [_SENTINEL]:
                    return records, errors, "".join(lines[start:])
                break
            self.row += 1
            records.append((self.row, cells))
        return records, errors, ""

    def _check_pending(self) -> None:
        if len(self._pending) > self.max_record_chars:
            raise RecordTooLong(
                f"row {self.row + 1} is longer than {self.max_record_chars} characters;"
                " is a quoted field left open?"
            )
