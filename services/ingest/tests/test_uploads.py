"""Multipart bodies parsed as they stream: only the file part's bytes come out, however the body is cut."""

from __future__ import annotations

import pytest

from cdpkit.errors import InvalidInput
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
