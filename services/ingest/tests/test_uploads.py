"""Uploads parsed as they stream: the file part of a multipart body, gzip, however the body is cut."""

from __future__ import annotations

import gzip
import tracemalloc
from typing import Any

import pytest
from starlette.requests import Request

from cdpkit.errors import InvalidInput, PayloadTooLarge
from services.ingest.domain.gunzip import PIECE, Gunzip, GzipError, TooLarge
from services.ingest.entrypoints.api import read_json
from services.ingest.entrypoints.uploads import _FilePart, clean_filename

BODY = (
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="note"\r\n\r\n'
    b"not the file\r\n"
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="file"; filename="C:\\\\exports\\\\orders.csv"\r\n'
    b"Content-Type: text/csv\r\n\r\n"
    b"order_id,price\r\nA--XyZ in the data,1\r\n"
    b"\r\n--XyZ--\r\n"
)


@pytest.mark.parametrize("size", [1, 2, 5, 64, len(BODY)])
def test_the_file_part_comes_out_whole_whatever_the_chunk_size(size: int) -> None:
    part = _FilePart(b"XyZ")
    out = b"".join(b"".join(part.write(BODY[i : i + size])) for i in range(0, len(BODY), size))
    assert out == b"order_id,price\r\nA--XyZ in the data,1\r\n"
    assert part.filename == "orders.csv" and part.ended


def test_a_body_cut_before_its_closing_boundary_is_not_ended() -> None:
    part = _FilePart(b"XyZ")
    part.write(BODY[:-12])
    assert not part.ended
    with pytest.raises(InvalidInput, match="malformed"):
        _FilePart(b"XyZ").write(b"--Nope\r\n")


def test_file_names_are_base_names_that_can_be_stored() -> None:
    assert clean_filename("/tmp/../a\x00b.csv") == "ab.csv"
    assert clean_filename("") is None
    assert clean_filename("x" * 300) == "x" * 255


CSV_TEXT = b"order_id,price\n" + b"".join(b"o%d,%d\n" % (n, n) for n in range(20_000))


def gunzipped(data: bytes, size: int, max_output: int = 10**9) -> bytes:
    gunzip = Gunzip(max_output)
    out = b"".join(piece for i in range(0, len(data), size) for piece in gunzip.feed(data[i : i + size]))
    return out + gunzip.close()


@pytest.mark.parametrize("size", [1, 7, 4096, 10**6])
def test_gzip_comes_out_whole_whatever_the_pieces_and_members(size: int) -> None:
    assert gunzipped(gzip.compress(CSV_TEXT), size) == CSV_TEXT
    two_members = gzip.compress(CSV_TEXT[:1000]) + gzip.compress(CSV_TEXT[1000:])
    assert gunzipped(two_members, size) == CSV_TEXT


def test_gzip_output_comes_in_bounded_pieces_and_a_bomb_is_stopped() -> None:
    bomb = gzip.compress(b"\0" * 50_000_000)  # 50 MB in about 50 KB
    pieces = list(Gunzip(10**9).feed(bomb))
    assert max(len(piece) for piece in pieces) <= PIECE and sum(map(len, pieces)) == 50_000_000
    with pytest.raises(TooLarge):
        gunzipped(bomb, 4096, max_output=10_000_000)


def test_cut_or_corrupt_gzip_is_refused() -> None:
    data = gzip.compress(CSV_TEXT)
    with pytest.raises(GzipError, match="cut"):
        gunzipped(data[:-100], 4096)
    with pytest.raises(GzipError, match="corrupt"):
        gunzipped(data[:20] + b"garbage" * 10 + data[90:], 4096)
    assert gunzipped(b"", 10) == b""


def gzip_request(body: bytes) -> Request:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    headers = [(b"content-encoding", b"gzip")]
    return Request({"type": "http", "method": "POST", "headers": headers}, receive)


async def test_a_gzip_tracking_body_is_read_and_one_inflating_past_the_limit_is_refused() -> None:
    assert await read_json(gzip_request(gzip.compress(b'{"batch": []}')), 1000) == {"batch": []}
    bomb = gzip_request(gzip.compress(b" " * 50_000_000))
    tracemalloc.start()
    try:
        with pytest.raises(PayloadTooLarge):
            await read_json(bomb, 500 * 1024)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000  # stopped at the limit, not inflated whole (50 MB) first
    with pytest.raises(InvalidInput, match="not valid gzip"):
        await read_json(gzip_request(b"not gzip"), 1000)
